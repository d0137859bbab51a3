#!/usr/bin/env -S node --
// The installed entry point: runs the compiled CLI (npm ci builds dist/ through the prepare script).
// `node --` because Node 20 otherwise takes `podnet config --env-file F` as its own --env-file (nodejs/node#54232).
import { main } from '../dist/cli/main.js';
await main(process.argv);

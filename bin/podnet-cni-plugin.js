#!/usr/bin/env node
// The full TypeScript CNI plugin that bin/podnet-cni runs when ipamd is unreachable (compiled into dist/ by the build).
import { runFallbackPluginProcess } from '../dist/cni/index.js';
await runFallbackPluginProcess();

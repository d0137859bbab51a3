#!/usr/bin/env node
// `npm run image [-- OUT.tar]`: podnet's OCI image (localhost/podnet:<version>) as a docker-archive, built offline from
// this machine's node, tools and the build (src/lab/image.ts; `npm run image` builds dist/ first). Default output:
// .cache/podnet-image.tar. Import it on a node with `ctr -n k8s.io images import <file>` (docs/install-eks.md).
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const json = args.includes('--json');
const out = args.find((a) => !a.startsWith('--')) ?? `${root}.cache/podnet-image.tar`;

try {
  const { buildPodnetImage, PODNET_IMAGE } = await import('../dist/lab/image.js');
  const started = Date.now();
  const file = await buildPodnetImage(out, (step) => process.stderr.write(`image: ${step}\n`));
  const seconds = (Date.now() - started) / 1000;
  if (json) process.stdout.write(`${JSON.stringify({ image: PODNET_IMAGE, file, seconds })}\n`);
  else process.stdout.write(`${PODNET_IMAGE} → ${file} (${seconds.toFixed(1)} s)\nimport it on a node: ctr -n k8s.io images import ${file}\n`);
} catch (err) {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  if (err && typeof err === 'object' && 'hint' in err && err.hint) process.stderr.write(`hint: ${err.hint}\n`);
  process.exitCode = 1;
}

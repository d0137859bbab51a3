// The kubectl smoke test on every version present other than those the full suite runs (1.20 and the newest):
// get, apply, patch, the seeds' set env (+ --list), delete and get -w, each version against its own API server,
// all versions at once.
import { describe, test, before, after } from 'node:test';
import { kubectlVersions, startCluster, type Cluster } from './kubectl-harness.js';
import { applyDaemonSet, patchDaemonSet, seedsSetEnv, watchAndDelete } from './kubectl-steps.js';

const { found } = kubectlVersions();
const newest = found.at(-1)?.version;
const others = found.filter((k) => k.version !== '1.20' && k.version !== newest);

if (others.length === 0) test('kubectl smoke', { skip: `no kubectl besides 1.20 and the newest (${newest ?? 'none'}) on this machine` }, () => undefined);

describe('kubectl smoke', { concurrency: true }, () => {
  for (const k of others) {
    describe(`kubectl ${k.version}`, { concurrency: false }, () => {
      let c: Cluster;
      before(async () => {
        c = await startCluster(k);
      });
      after(async () => {
        await c?.stop();
      });
      test('apply and get a DaemonSet', () => applyDaemonSet(c));
      test("the seeds' set env, and set env --list", () => seedsSetEnv(c));
      test('strategic merge patch of the pod template', () => patchDaemonSet(c));
      test('get -w and delete', () => watchAndDelete(c, 'default'));
    });
  }
});

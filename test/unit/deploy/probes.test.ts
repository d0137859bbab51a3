/**
 * The DaemonSet's probes, run as the container runtime runs an exec probe (`sh -c …`, exit status 0 = success)
 * against ipamd's real CNI socket server: readiness follows `GET /ready` (200 ready, 503 not ready), liveness only
 * asks for an answer, and with no ipamd listening both fail instead of hanging.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { startCniSocketServer } from '../../../src/cni/index.js';

const ds = parse(readFileSync(new URL('../../../deploy/20-aws-node.yaml', import.meta.url), 'utf8')) as {
  spec: { template: { spec: { containers: Array<{ readinessProbe: { exec: { command: string[] } }; livenessProbe: { exec: { command: string[] } } }> } } };
};
const [ipamd] = ds.spec.template.spec.containers;
const dir = mkdtempSync(join(tmpdir(), 'podnet-probe-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs a probe with the manifest's socket path moved to this test's socket; true when it succeeds. Asynchronously:
 * the socket server answers from this process's event loop.
 */
function probe(command: string[], socket: string): Promise<boolean> {
  const [cmd, ...args] = command.map((w) => w.replaceAll('/var/run/aws-node/ipamd.sock', socket));
  return new Promise((resolve) => {
    const child = spawn(cmd!, args, { stdio: 'ignore' });
    child.on('exit', (code) => resolve(code === 0));
  });
}

test('readiness is GET /ready; liveness is any answer; both fail with no ipamd', async () => {
  const socket = join(dir, 'ipamd.sock');
  let ready = false;
  const server = await startCniSocketServer(socket, async () => { throw new Error('no CNI calls here'); }, {
    status: async () => (ready ? { ready: true } : { ready: false, reason: 'EC2 unreachable' }),
  });
  try {
    assert.equal(await probe(ipamd!.readinessProbe.exec.command, socket), false, 'not ready: 503');
    assert.equal(await probe(ipamd!.livenessProbe.exec.command, socket), true, 'alive while not ready');
    ready = true;
    assert.equal(await probe(ipamd!.readinessProbe.exec.command, socket), true, 'ready: 200');
    assert.equal(await probe(ipamd!.livenessProbe.exec.command, socket), true);
  } finally {
    await server.close();
  }
  assert.equal(await probe(ipamd!.readinessProbe.exec.command, socket), false, 'no socket: not ready');
  assert.equal(await probe(ipamd!.livenessProbe.exec.command, socket), false, 'no socket: not alive');
});

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Datastore, checkpointOf, checkpointPath, parseCheckpoint, podLinkSuffix, readCheckpoint, renderCheckpoint, restoreCheckpoint, writeCheckpoint } from '../../../src/ipam/index.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-checkpoint-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const upstreamExample = '{"version":"vpc-cni-ipam/1","allocations":[{"networkName":"aws-cni","containerID":"6f1b","ifName":"eth0","ipv4":"10.0.97.30","allocationTimestamp":1755720000123456789,"metadata":{"k8sPodNamespace":"default","k8sPodName":"nginx","interfacesCount":1}}]}\n';

function store(): Datastore {
  const ds = new Datastore({ prefixDelegation: false, ipCooldownMs: 30_000 });
  ds.addEni({ id: 'eni-a', deviceNumber: 0, networkCard: 0, primary: true, trunk: false, efa: false, excluded: false, subnetId: 's', subnetCidr: '10.0.0.0/16', primaryIp: '10.0.0.10', createdAt: 0 });
  ds.addCidr('eni-a', '10.0.97.30');
  ds.addCidr('eni-a', '10.0.97.31');
  return ds;
}

describe('checkpoint format (spec §6.4)', () => {
  test('upstream\'s example file parses and renders back byte for byte, nanoseconds intact', () => {
    const cp = parseCheckpoint(upstreamExample, 'ipam.json');
    assert.equal(cp.allocations[0]?.allocationTimestamp, 1755720000123456789n);
    assert.equal(renderCheckpoint(cp), upstreamExample);
  });

  test('card 0 uses the base path, card N uses <base>-nic-N.json', () => {
    assert.equal(checkpointPath('/var/run/aws-node/ipam.json', 0), '/var/run/aws-node/ipam.json');
    assert.equal(checkpointPath('/var/run/aws-node/ipam.json', 2), '/var/run/aws-node/ipam-nic-2.json');
  });

  test('a missing file is a fresh node', async () => {
    assert.equal(await readCheckpoint(join(dir, 'absent.json')), undefined);
  });

  test('a corrupt file is reported with its path, never read as empty', async () => {
    const path = join(dir, 'corrupt.json');
    writeFileSync(path, '{"version":"vpc-cni-ipam/1","allocations":[{"contai');
    await assert.rejects(readCheckpoint(path), (e: Error & { code?: string }) => e.code === 'CHECKPOINT_CORRUPT' && e.message.includes(path));
  });

  test('another version is refused', () => {
    assert.throws(() => parseCheckpoint('{"version":"vpc-cni-ipam/2","allocations":[]}', 'x.json'), /version "vpc-cni-ipam\/2"/);
  });

  test('write is atomic: the file is replaced whole and no temp file remains', async () => {
    const path = join(dir, 'ipam.json');
    const ds = store();
    ds.assign({ networkName: 'aws-cni', containerId: 'c1', ifName: 'eth0' }, { k8sPodNamespace: 'default', k8sPodName: 'web' }, 1_000);
    await writeCheckpoint(path, checkpointOf(ds.assignments()));
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('ipam.json')), ['ipam.json']);
    assert.equal(readFileSync(path, 'utf8'),
      '{"version":"vpc-cni-ipam/1","allocations":[{"networkName":"aws-cni","containerID":"c1","ifName":"eth0","ipv4":"10.0.97.30","allocationTimestamp":1000000000,"metadata":{"k8sPodNamespace":"default","k8sPodName":"web"}}]}\n');
  });

  test('a write that fails leaves no temp file and says it could not write the checkpoint', async () => {
    const sub = join(dir, 'failing');
    const path = join(sub, 'ipam.json');
    mkdirSync(path, { recursive: true }); // a directory where the checkpoint goes: the rename fails
    await assert.rejects(writeCheckpoint(path, checkpointOf(store().assignments())), (e: Error & { code?: string }) =>
      e.code === 'FAILED' && e.message === `cannot write the IPAM checkpoint ${path}: EISDIR`);
    assert.deepEqual(readdirSync(sub), ['ipam.json']);
  });
});

describe('checkpoint file mode (issue 11 item 7)', () => {
  test('issue 11 item 7: the checkpoint file is 0600', async () => {
    const path = join(dir, 'mode-new.json');
    await writeCheckpoint(path, checkpointOf(store().assignments()));
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  test('issue 11 item 7: rewriting a checkpoint left 0644 by an earlier podnet makes it 0600', async () => {
    const path = join(dir, 'mode-old.json');
    writeFileSync(path, upstreamExample, { mode: 0o644 });
    chmodSync(path, 0o644);
    await writeCheckpoint(path, parseCheckpoint(upstreamExample, path));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(readFileSync(path, 'utf8'), upstreamExample);
  });
});

describe('restore (spec §6.4)', () => {
  test('pods with a host link are restored, pods without one are stale, unknown addresses are dropped', () => {
    const cp = parseCheckpoint(JSON.stringify({
      version: 'vpc-cni-ipam/1',
      allocations: [
        { networkName: 'aws-cni', containerID: 'live', ifName: 'eth0', ipv4: '10.0.97.30', allocationTimestamp: 5, metadata: { k8sPodNamespace: 'default', k8sPodName: 'nginx' } },
        { networkName: 'aws-cni', containerID: 'gone', ifName: 'eth0', ipv4: '10.0.97.31', allocationTimestamp: 6, metadata: { k8sPodNamespace: 'default', k8sPodName: 'old' } },
        { networkName: 'aws-cni', containerID: 'lost', ifName: 'eth0', ipv4: '10.0.50.1', allocationTimestamp: 7, metadata: {} },
      ],
    }), 'x.json');
    const ds = store();
    const r = restoreCheckpoint(ds, cp, [`eni${podLinkSuffix('default', 'nginx')}`, 'eth0']);
    assert.deepEqual([r.restored, r.stale, r.unknown].map((l) => l.map((a) => a.containerID)), [['live'], ['gone'], ['lost']]);
    assert.equal(ds.findAssignment({ networkName: 'aws-cni', containerId: 'live', ifName: 'eth0' })?.address, '10.0.97.30');
    assert.equal(ds.stats(0).assignedIps, 1);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NODE_STATUS_UNKNOWN_MESSAGE, nodesToMarkUnknown, type NodeLease } from '../../../src/lab/node-lifecycle.js';
import type { KubeNode } from '../../../src/lab/control-plane-types.js';

const t0 = Date.parse('2026-12-04T22:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function node(name: string, ready: 'True' | 'False' | 'Unknown' | null, heartbeat = t0 - 60_000): KubeNode {
  const conditions = [
    { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: iso(heartbeat), lastTransitionTime: iso(t0 - 120_000) },
    ...(ready ? [{ type: 'Ready', status: ready, reason: 'KubeletReady', lastHeartbeatTime: iso(heartbeat), lastTransitionTime: iso(t0 - 120_000) }] : []),
  ];
  return { metadata: { name, creationTimestamp: iso(t0 - 300_000) }, status: { conditions } } as KubeNode;
}
const lease = (name: string, renewMs: number): NodeLease => ({ metadata: { name, namespace: 'kube-node-lease' }, spec: { renewTime: new Date(renewMs).toISOString().replace('Z', '000Z') } });

test('a node whose Lease was renewed within the grace period stays as it is', () => {
  assert.deepEqual(nodesToMarkUnknown([node('a', 'True')], [lease('a', t0 - 8_000)], t0, 0), []);
});

test('a node silent for longer than the grace period gets every condition Unknown (NodeStatusUnknown)', () => {
  const [u, ...rest] = nodesToMarkUnknown([node('a', 'True'), node('b', 'True')], [lease('a', t0 - 25_000), lease('b', t0 - 5_000)], t0, 0);
  assert.equal(rest.length, 0);
  assert.equal(u!.node, 'a');
  assert.equal(u!.silentMs, 25_000);
  for (const c of u!.conditions) {
    assert.equal(c.status, 'Unknown');
    assert.equal(c.reason, 'NodeStatusUnknown');
    assert.equal(c.message, NODE_STATUS_UNKNOWN_MESSAGE);
    assert.equal(c.lastTransitionTime, '2026-12-04T22:00:00Z');
  }
  // the heartbeat stays what the kubelet last posted
  assert.equal((u!.conditions[1] as { lastHeartbeatTime?: string }).lastHeartbeatTime, iso(t0 - 60_000));
});

test('a node already Unknown is not marked again; a fresh status heartbeat counts like a Lease renewal', () => {
  assert.deepEqual(nodesToMarkUnknown([node('a', 'Unknown')], [], t0, 0), []);
  assert.deepEqual(nodesToMarkUnknown([node('a', 'True', t0 - 3_000)], [lease('a', t0 - 60_000)], t0, 0), []);
});

test('a control plane that just started gives every node a full grace period', () => {
  assert.deepEqual(nodesToMarkUnknown([node('a', 'True')], [], t0, t0 - 10_000), []);
  assert.equal(nodesToMarkUnknown([node('a', 'True')], [], t0, t0 - 21_000).length, 1);
});

test('a node without a Ready condition gets one, Unknown', () => {
  const [u] = nodesToMarkUnknown([node('a', null)], [], t0, 0, 20_000);
  assert.equal(u!.conditions[0]!.type, 'Ready');
  assert.equal(u!.conditions[0]!.status, 'Unknown');
});

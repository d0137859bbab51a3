import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planLinks, type LinkPlanInput } from '../../../src/lab/link-plan.js';
import type { EniLink } from '../../../src/lab/render.js';

const R = 'pn-r-main';
const N = 'pn-n-a';
const M = 'pn-n-b';
const all = new Set([R, N, M]);

function branch(eniId: string, vlanId: number, mac: string, endNs = N): EniLink {
  return { eniId, mac, routerNs: R, port: `pne${eniId.slice(4)}`, endNs, endDev: `vlan.eth.${vlanId}`, branch: { vlanId, address: '10.0.1.50' } };
}
const primary: EniLink = { eniId: 'eni-0a', mac: '02:00:00:00:00:0a', routerNs: R, port: 'pne0a', endNs: N, endDev: 'eth0', primary: { cidr: '10.0.1.4/24', gateway: '10.0.1.1' } };
const key = (l: EniLink) => `${l.routerNs}/${l.port}`;

function plan(o: Partial<Omit<LinkPlanInput, 'wanted'>> & { wanted: EniLink[] }) {
  const p = planLinks({ applied: new Map(), namespaces: all, adoptedBranchEnds: new Map(), ...o, wanted: new Map(o.wanted.map((l) => [key(l), l])) });
  return { remove: p.remove.map((r) => r.key), create: p.create.map((c) => c.key), adopt: p.adopt.map((a) => a.key), waiting: p.waiting };
}

test('a link applied with the end wanted is kept: never made again under a live pod', () => {
  const b = branch('eni-0b', 5, '02:00:00:00:00:0b');
  assert.deepEqual(plan({ applied: new Map([[key(primary), primary], [key(b), b]]), wanted: [primary, b] }), { remove: [], create: [], adopt: [], waiting: [] });
});

test('a branch associated again on another VLAN: its old pair is removed before any pair is made', () => {
  const before = branch('eni-0b', 5, '02:00:00:00:00:0b');
  const moved = branch('eni-0b', 7, '02:00:00:00:00:0b');
  // a new branch takes VLAN 5, which the moved branch's old pair still holds, and sorts before it
  const fresh = branch('eni-0a1', 5, '02:00:00:00:00:a1');
  const p = planLinks({ applied: new Map([[key(before), before]]), wanted: new Map([[key(fresh), fresh], [key(moved), moved]]), namespaces: all, adoptedBranchEnds: new Map() });
  assert.deepEqual(p.remove.map((r) => r.key), [key(before)]);
  assert.deepEqual(p.create.map((c) => c.link.endDev).sort(), ['vlan.eth.5', 'vlan.eth.7']);
});

test('a branch whose trunk moved to another instance is made anew there', () => {
  const before = branch('eni-0b', 5, '02:00:00:00:00:0b');
  const moved = branch('eni-0b', 5, '02:00:00:00:00:0b', M);
  assert.deepEqual(plan({ applied: new Map([[key(before), before]]), wanted: [moved] }), { remove: [key(before)], create: [key(before)], adopt: [], waiting: [] });
});

test('a link no longer mapped is removed; its port deleted only while its router namespace exists', () => {
  const gone = branch('eni-0b', 5, '02:00:00:00:00:0b');
  const p = planLinks({ applied: new Map([[key(gone), gone]]), wanted: new Map(), namespaces: new Set([N]), adoptedBranchEnds: new Map() });
  assert.deepEqual(p.remove, [{ key: key(gone), routerNs: R, port: gone.port, deletePort: false, why: 'EC2 no longer maps it here' }]);
});

test('an adopted branch port is taken over only when its end has the wanted name and MAC', () => {
  const b = branch('eni-0b', 5, '02:00:00:00:00:0b');
  const applied = new Map([[key(b), null]]);
  assert.deepEqual(plan({ applied, wanted: [b], adoptedBranchEnds: new Map([[key(b), '02:00:00:00:00:0B']]) }), { remove: [], create: [], adopt: [key(b)], waiting: [] });
  // the node has no vlan.eth.5 (the branch was on another VLAN when the controller died): remade
  assert.deepEqual(plan({ applied, wanted: [b], adoptedBranchEnds: new Map([[key(b), undefined]]) }), { remove: [key(b)], create: [key(b)], adopt: [], waiting: [] });
  // vlan.eth.5 is another branch's
  assert.deepEqual(plan({ applied, wanted: [b], adoptedBranchEnds: new Map([[key(b), '02:00:00:00:00:99']]) }), { remove: [key(b)], create: [key(b)], adopt: [], waiting: [] });
});

test('an adopted instance port is taken over as it is', () => {
  assert.deepEqual(plan({ applied: new Map([[key(primary), null]]), wanted: [primary] }), { remove: [], create: [], adopt: [key(primary)], waiting: [] });
});

test('a link whose namespaces do not exist yet waits; nothing is made for it', () => {
  const b = branch('eni-0b', 5, '02:00:00:00:00:0b', 'pn-n-later');
  assert.deepEqual(plan({ wanted: [primary, b] }), { remove: [], create: [key(primary)], adopt: [], waiting: [key(b)] });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAIN_TABLE, eniRouteTable, formatRule, isMainTable, parseRules, renderPodNetwork } from '../../../src/dataplane/index.js';

test('a route table is its number: main is 254, named for ip and read back from ip -j rule', () => {
  assert.equal(MAIN_TABLE, 254);
  const rules = parseRules([
    { priority: 0, src: 'all', table: 'local' },
    { priority: 512, dst: '10.0.1.7', table: 'main' },
    { priority: 1536, src: '10.0.1.8', table: '2' },
    { priority: 32766, src: 'all' },
  ], 4);
  assert.deepEqual(rules.map((r) => r.table), [255, MAIN_TABLE, 2, MAIN_TABLE]);
  assert.equal(formatRule(rules[1]!), 'to 10.0.1.7/32 lookup main prio 512');
  assert.equal(formatRule(rules[2]!), 'from 10.0.1.8/32 lookup 2 prio 1536');
});

test("an ENI's table and a pod's: 254 for the primary ENI, and a legacy 1 is main too (spec §3.2, §3.4)", () => {
  assert.equal(eniRouteTable(0), MAIN_TABLE);
  assert.ok(isMainTable(MAIN_TABLE) && isMainTable(1) && !isMainTable(2));
  const pod = { namespace: 'default', podName: 'web', vethPrefix: 'eni', podIp: '10.0.1.7', mtu: 9001, hostVethMac: '02:11:22:33:44:55' };
  for (const main of [MAIN_TABLE, 1]) assert.deepEqual(renderPodNetwork({ ...pod, routeTable: main }).hostRules.map(formatRule), ['to 10.0.1.7/32 lookup main prio 512']);
  assert.deepEqual(renderPodNetwork({ ...pod, routeTable: eniRouteTable(1) }).hostRules.map(formatRule), ['to 10.0.1.7/32 lookup main prio 512', 'from 10.0.1.7/32 lookup 2 prio 1536']);
});

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import type { Ipamd } from '../../../src/ipamd/index.js';
import { addressOf, cniCall, daemonEnv, eventually, httpGet, startCloud, startDaemon, type Cloud } from './daemon-harness.js';

let cloud: Cloud;
let ipamd: Ipamd;

before(async () => {
  cloud = await startCloud({ instanceType: 't3.small' });
  ipamd = await startDaemon(daemonEnv(cloud));
});

after(async () => {
  await ipamd?.stop();
  await cloud?.close();
});

const stats = () => {
  const enis = ipamd.node.datastore.snapshot(Date.now()).enis;
  return { enis: enis.length, total: enis.reduce((n, e) => n + e.cidrs.reduce((m, c) => m + c.size, 0), 0) };
};

test('a fresh t3.small with WARM_ENI_TARGET=1 starts with its primary ENI and 3 warm addresses (spec §4.17 row 1)', async () => {
  assert.equal(ipamd.node.ready, true);
  assert.deepEqual(stats(), { enis: 1, total: 3 });
  const primary = ipamd.node.datastore.eniInfos()[0]!;
  assert.equal(primary.primary, true);
  const ec2View = await cloud.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [primary.id] }));
  assert.equal(ec2View.NetworkInterfaces![0]!.PrivateIpAddresses!.length, 4, 'EC2 lists the primary address and 3 secondary ones');
});

test('the CNI socket is mode 0660 and answers readiness', async () => {
  assert.equal(statSync(ipamd.socketPath).mode & 0o777, 0o660);
  const ready = await httpGet({ socketPath: ipamd.socketPath, path: '/ready' });
  assert.equal(ready.status, 200);
});

test('ADD over the socket returns a VPC address on the primary ENI with route table 254; DEL releases it and is idempotent', async () => {
  const add = await cniCall(ipamd.socketPath, 'ADD', 'c0ffee01', 'web-1');
  assert.equal(add.exitCode, 0, JSON.stringify(add.body));
  const address = addressOf(add);
  assert.match(address, /^10\.0\.1\.\d+$/);
  const held = ipamd.node.lookup({ networkName: 'aws-cni', containerId: 'c0ffee01', ifName: 'eth0' })!;
  assert.equal(held.assignment.address, address);
  assert.equal(held.routeTable, 254);
  assert.deepEqual(held.vpcCidrs, ['10.0.0.0/16']);
  assert.equal(held.useExternalSnat, false);
  const container = (add.body.interfaces as { name: string; mac?: string }[]).find((i) => i.name === 'eth0');
  assert.equal(container?.mac, '254', 'the container interface carries the route table (spec §6.1)');

  const again = await cniCall(ipamd.socketPath, 'ADD', 'c0ffee01', 'web-1');
  assert.equal(addressOf(again), address, 'the same key gets the same address again');

  const del = await cniCall(ipamd.socketPath, 'DEL', 'c0ffee01', 'web-1');
  assert.equal(del.exitCode, 0, JSON.stringify(del.body));
  assert.equal(ipamd.node.lookup({ networkName: 'aws-cni', containerId: 'c0ffee01', ifName: 'eth0' }), undefined);
  const delAgain = await cniCall(ipamd.socketPath, 'DEL', 'c0ffee01', 'web-1');
  assert.equal(delAgain.exitCode, 0, 'a second DEL succeeds');
  const unknown = await cniCall(ipamd.socketPath, 'DEL', 'neverseen', 'ghost');
  assert.equal(unknown.exitCode, 0, 'DEL of a container ipamd never saw succeeds');
});

test('five pods on a t3.small grow the pool to 3 ENIs with 3 addresses each (spec §4.17 row 2)', async () => {
  for (let i = 0; i < 5; i++) {
    await eventually(async () => (await cniCall(ipamd.socketPath, 'ADD', `pod${i}`)).exitCode === 0, `pod ${i} to get an address`);
  }
  await eventually(() => stats().enis === 3 && stats().total === 9, 'the pool to reach 3 ENIs and 9 addresses');
  const enis = ipamd.node.datastore.eniInfos();
  assert.deepEqual(enis.map((e) => e.deviceNumber), [0, 1, 2]);
  const secondary = ipamd.node.lookup({ networkName: 'aws-cni', containerId: 'pod4', ifName: 'eth0' })!;
  assert.equal(secondary.routeTable, secondary.assignment.deviceNumber === 0 ? 254 : secondary.assignment.deviceNumber + 1);
  for (let i = 0; i < 5; i++) assert.equal((await cniCall(ipamd.socketPath, 'DEL', `pod${i}`)).exitCode, 0);
});

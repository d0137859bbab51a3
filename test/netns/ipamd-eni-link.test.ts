import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DescribeInstancesCommand, DescribeNetworkInterfacesCommand, type NetworkInterface } from '@aws-sdk/client-ec2';
import type { Ipamd } from '../../src/ipamd/index.js';
import { run } from '../../src/lib/index.js';
import { daemonEnv, eventually, startCloud, startDaemon, type Cloud } from '../unit/ipamd/daemon-harness.js';

// The sandbox's namespace is the node. the pool loop attaches a second ENI (WARM_IP_TARGET=5 on a t3.small, 3 addresses per ENI),
// but the emulator makes no Linux link for it: the test adds one with the ENI's MAC a moment later, as the kernel
// would after a slow attachment, and ipamd's looks by MAC (§3.2 step 1) must find it without a reconcile.
let cloud: Cloud;
let ipamd: Ipamd;
let secondary: NetworkInterface;
const lookIntervalMs = 400;

before(async () => {
  await run(['ip', 'link', 'set', 'lo', 'up']);
  cloud = await startCloud({ instanceType: 't3.small' });
  const instance = (await cloud.ec2.send(new DescribeInstancesCommand({ InstanceIds: [cloud.instanceId] }))).Reservations![0]!.Instances![0]!;
  const primary = instance.NetworkInterfaces![0]!;
  await run(['ip', 'link', 'add', 'eth0', 'address', primary.MacAddress!, 'type', 'veth', 'peer', 'name', 'pn-gw0']);
  await run(['ip', 'addr', 'add', `${primary.PrivateIpAddress}/24`, 'dev', 'eth0']);
  await run(['ip', 'link', 'set', 'eth0', 'up']);
  ipamd = await startDaemon(daemonEnv(cloud, {
    PODNET_DATAPLANE: 'linux',
    WARM_IP_TARGET: '5',
    PODNET_ENI_LINK_RETRY_MS: String(lookIntervalMs),
    // no reconcile during the test: only the setup's own looks can configure the ENI
    PODNET_RECONCILE_INTERVAL_MS: '600000',
  }));
  let found: NetworkInterface | undefined;
  await eventually(async () => {
    const enis = await cloud.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [cloud.instanceId] }] }));
    found = enis.NetworkInterfaces!.find((e) => e.Attachment?.DeviceIndex === 1);
    return found !== undefined && ipamd.node.datastore.hasEni(found.NetworkInterfaceId!);
  }, 'the pool loop to attach a second ENI');
  secondary = found!;
});

after(async () => {
  await ipamd?.stop();
  await cloud?.close();
  await run(['ip', 'link', 'del', 'eth1']).catch(() => {});
  await run(['ip', 'link', 'del', 'eth0']).catch(() => {});
});

test('a secondary ENI whose link appears after the attach gets its route table and rule from the retried look by MAC', async () => {
  // later than the first look (made right at the attach), well inside the 5 looks
  await new Promise((r) => setTimeout(r, lookIntervalMs / 2));
  // an empty table does not exist at all for `ip route show`
  const table = async () => (await run(['ip', 'route', 'show', 'table', '2']).catch(() => ({ stdout: '' }))).stdout;
  assert.equal((await table()).trim(), '', 'nothing configured before the link exists');
  await run(['ip', 'link', 'add', 'eth1', 'address', secondary.MacAddress!, 'type', 'veth', 'peer', 'name', 'pn-gw1']);

  await eventually(async () => /^default via 10\.0\.1\.1 dev eth1/m.test(await table()), 'the default route in table 2', lookIntervalMs * 6);
  assert.match(await table(), /^10\.0\.1\.1 dev eth1 scope link/m);
  const { stdout: rules } = await run(['ip', 'rule', 'show']);
  assert.match(rules, new RegExp(`^32765:\\s+from ${secondary.PrivateIpAddress!.replace(/\./g, '\\.')} lookup 2`, 'm'));
  const { stdout: addr } = await run(['ip', '-o', 'addr', 'show', 'dev', 'eth1']);
  assert.ok(addr.includes(`inet ${secondary.PrivateIpAddress}/24`), addr);
  const errors = (await ipamd.metrics.ipamdErrors.get()).values.filter((v) => v.labels.fn === 'setupENINetwork');
  assert.deepEqual(errors, [], 'the missed first looks are not counted as errors');
  assert.ok(ipamd.node.ready);
});

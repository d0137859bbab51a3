import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import type { Ipamd } from '../../src/ipamd/index.js';
import { run } from '../../src/lib/index.js';
import { addressOf, cniCall, daemonEnv, startCloud, startDaemon, type Cloud } from '../unit/ipamd/daemon-harness.js';

// The sandbox's own namespace is the node: its primary ENI is a veth with the MAC and address IMDS reports, and
// `podnet ipamd` (in-process, PODNET_DATAPLANE=linux) programs the host rules there and wires pods into their own
// namespaces, with the emulator on loopback.
const pod = 'pn-ipamd-pod';
let cloud: Cloud;
let ipamd: Ipamd;

before(async () => {
  await run(['ip', 'link', 'set', 'lo', 'up']);
  cloud = await startCloud({ instanceType: 't3.medium' });
  const instance = (await cloud.ec2.send(new DescribeInstancesCommand({ InstanceIds: [cloud.instanceId] }))).Reservations![0]!.Instances![0]!;
  const eni = instance.NetworkInterfaces![0]!;
  await run(['ip', 'link', 'add', 'eth0', 'address', eni.MacAddress!, 'type', 'veth', 'peer', 'name', 'pn-gw0']);
  await run(['ip', 'addr', 'add', `${eni.PrivateIpAddress}/24`, 'dev', 'eth0']);
  await run(['ip', 'link', 'set', 'eth0', 'up']);
  await run(['ip', 'netns', 'add', pod]);
  // WARM_IP_TARGET keeps every address on the primary ENI: the emulator attaches no Linux links for new ENIs
  ipamd = await startDaemon(daemonEnv(cloud, { PODNET_DATAPLANE: 'linux', WARM_IP_TARGET: '2', AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '192.168.0.0/16' }));
});

after(async () => {
  await ipamd?.stop();
  await cloud?.close();
  await run(['ip', 'netns', 'del', pod]).catch(() => {});
  await run(['ip', 'link', 'del', 'eth0']).catch(() => {});
});

test('node init programs the SNAT chain with the VPC and excluded CIDRs and the fwmark rule', async () => {
  const { stdout: nat } = await run(['iptables-save', '-t', 'nat']);
  assert.match(nat, /-A AWS-SNAT-CHAIN-0 -d 10\.0\.0\.0\/16 .*-j RETURN/);
  assert.match(nat, /-A AWS-SNAT-CHAIN-0 -d 192\.168\.0\.0\/16 .*-j RETURN/);
  assert.match(nat, /-j SNAT --to-source 10\.0\.1\.\d+/);
  const { stdout: rules } = await run(['ip', 'rule', 'show']);
  assert.match(rules, /^1024:\s+from all fwmark 0x80\/0x80 lookup main/m);
  const reconciles = (await ipamd.metrics.connmarkReconciles.get()).values;
  assert.deepEqual(reconciles.map((v) => [v.labels.result, v.value]), [['success', 1]]);
  const backend = (await ipamd.metrics.connmarkBackend.get()).values;
  assert.deepEqual(backend.map((v) => [v.labels.backend, v.value]), [['nftables', 1]], 'iptables here is the nf_tables variant, so upstream picks nftables');
});

test('ADD over the socket wires the pod into its namespace and routes its /32 to the host veth; DEL removes both', async () => {
  const add = await cniCall(ipamd.socketPath, 'ADD', 'wired1', 'web', `/var/run/netns/${pod}`);
  assert.equal(add.exitCode, 0, JSON.stringify(add.body));
  const address = addressOf(add);
  const { stdout: podAddr } = await run(['ip', '-n', pod, '-o', 'addr', 'show', 'dev', 'eth0']);
  assert.ok(podAddr.includes(`inet ${address}/32`), podAddr);
  const { stdout: podRoutes } = await run(['ip', '-n', pod, 'route', 'show']);
  assert.match(podRoutes, /^default via 169\.254\.1\.1 dev eth0/m);
  const { stdout: hostRoute } = await run(['ip', 'route', 'show', `${address}/32`]);
  assert.match(hostRoute, /dev eni[0-9a-f]{11} scope link/);
  const { stdout: rules } = await run(['ip', 'rule', 'show']);
  assert.match(rules, new RegExp(`^512:\\s+from all to ${address.replace(/\./g, '\\.')} lookup main`, 'm'));

  const del = await cniCall(ipamd.socketPath, 'DEL', 'wired1', 'web');
  assert.equal(del.exitCode, 0, JSON.stringify(del.body));
  assert.equal((await run(['ip', 'route', 'show', `${address}/32`])).stdout.trim(), '');
  assert.equal((await run(['ip', '-n', pod, '-o', 'link', 'show', 'dev', 'eth0']).catch(() => ({ stdout: '' }))).stdout.trim(), '', 'the pod end of the veth went with the host end');
});

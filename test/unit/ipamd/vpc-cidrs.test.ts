/**
 * ipamd and a VPC with secondary IPv4 blocks: it reads every block from IMDS (vpc-ipv4-cidr-blocks) at start and
 * again when one is associated later (reconcile, §2.1), hands them to the CNI, and the SNAT chain built from them
 * returns for each block (no translation inside the VPC) and translates the rest to the node's primary address.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AssociateVpcCidrBlockCommand } from '@aws-sdk/client-ec2';
import { renderSnatRules } from '../../../src/dataplane/index.js';
import type { Ipamd } from '../../../src/ipamd/index.js';
import { cniCall, daemonEnv, eventually, startCloud, startDaemon, type Cloud } from './daemon-harness.js';

let cloud: Cloud;
let ipamd: Ipamd;

before(async () => {
  cloud = await startCloud({ instanceType: 't3.small' });
  await cloud.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: cloud.vpcId, CidrBlock: '100.64.0.0/16' }));
  ipamd = await startDaemon(daemonEnv(cloud));
});

after(async () => {
  await ipamd?.stop();
  await cloud?.close();
});

/** The VPC CIDRs the CNI gets with a pod's address (what the node's SNAT chain and pod rules are built from). */
async function cidrsGivenToCni(containerId: string): Promise<readonly string[]> {
  const add = await cniCall(ipamd.socketPath, 'ADD', containerId, containerId);
  assert.equal(add.exitCode, 0, JSON.stringify(add.body));
  const cidrs = ipamd.node.lookup({ networkName: 'aws-cni', containerId, ifName: 'eth0' })!.vpcCidrs;
  assert.equal((await cniCall(ipamd.socketPath, 'DEL', containerId, containerId)).exitCode, 0);
  return cidrs;
}

/** The SNAT chain of a node at 10.0.1.10 with these VPC CIDRs, as iptables-save lines of its chain. */
function snatChain(vpcCidrs: readonly string[]): string[] {
  const rules = renderSnatRules({
    vpcCidrs, excludeSnatCidrs: [], primaryIp: '10.0.1.10', primaryInterface: 'eth0', vethPrefix: 'eni', connmarkBackend: 'iptables',
    externalSnat: false, nodePortSupport: true, randomizeSnat: 'prng', randomFullySupported: true, ipv6: false, pre18Routing: false, externalServiceCidrs: [],
  });
  return rules.rules.filter((r) => r.chain === 'AWS-SNAT-CHAIN-0').map((r) => r.spec);
}

test('every block from IMDS reaches the CNI, and the SNAT chain returns for each before translating the rest', async () => {
  const cidrs = await cidrsGivenToCni('cafe0001');
  assert.deepEqual(cidrs, ['10.0.0.0/16', '100.64.0.0/16']);
  const chain = snatChain(cidrs);
  // a pod in 100.64.0.0/16 sending to the other block or its own is returned untranslated; anything else is SNATed
  assert.deepEqual(chain.slice(0, 2), [
    '-d 100.64.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
    '-d 10.0.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
  ]);
  assert.match(chain[2]!, /-j SNAT --to-source 10\.0\.1\.10/);
  assert.equal(chain.length, 3);
});

test('a block associated while ipamd runs is picked up by reconcile and reaches the next pod', async (t) => {
  await cloud.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: cloud.vpcId, CidrBlock: '100.65.0.0/16' }));
  const started = Date.now();
  await eventually(async () => (await cidrsGivenToCni('cafe0002')).length === 3, 'ipamd to learn the third block', 5000);
  const took = Date.now() - started;
  t.diagnostic(`AssociateVpcCidrBlock to the CNI seeing the block: ${took} ms (reconcile interval 200 ms here)`);
  assert.equal(snatChain(await cidrsGivenToCni('cafe0003')).filter((r) => r.endsWith('RETURN')).length, 3);
});

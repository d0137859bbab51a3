import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { after, before, test } from 'node:test';
import { AssociateVpcCidrBlockCommand } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, UpdateClusterConfigCommand } from '@aws-sdk/client-eks';
import { ec2DnsSource, startVpcDns, type VpcDnsServer } from '../../../src/ec2/index.js';
import { createLabVpc, startEksEmulator, type EksEmulator, type LabVpc } from './eks-harness.js';

let emu: EksEmulator;
let vpc: LabVpc;
let dns: VpcDnsServer;

before(async () => {
  emu = await startEksEmulator();
  vpc = await createLabVpc(emu.ec2);
  // loopback stands in for the VPC's resolver address: 127.0.0.0/24 is one of the VPC's blocks, 127.0.1.2 in none
  await emu.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpc.vpcId, CidrBlock: '127.0.0.0/24' }));
  dns = await startVpcDns({
    listen: [
      { host: '127.0.0.2', port: 0 },
      { host: '127.0.1.2', port: 0 },
    ],
    source: ec2DnsSource(emu.server.state),
    log: () => {},
  });
});
after(async () => {
  await dns.close();
  await emu.close();
});

const resolver = (i: number) => {
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([`${dns.listeners[i]!.host}:${dns.listeners[i]!.port}`]);
  return r;
};
const sorted = (addresses: string[]) => [...addresses].sort();

test("the cluster endpoint's name follows the emulator's cluster as UpdateClusterConfig changes it", async () => {
  const { cluster } = await emu.eks.send(new CreateClusterCommand({ name: 'lab', roleArn: 'arn:aws:iam::111122223333:role/eks', resourcesVpcConfig: { subnetIds: [vpc.privateA, vpc.privateB] } }));
  const host = new URL(cluster!.endpoint!).hostname;
  const [inside, outside] = [resolver(0), resolver(1)];

  // public endpoint only (EKS's default): its public address for everyone
  const [publicAddress] = await inside.resolve4(host);
  assert.match(publicAddress!, /^203\.0\.113\./);
  assert.deepEqual(await outside.resolve4(host), [publicAddress]);

  // private access on: the cluster's interfaces from inside its VPC, the public address elsewhere
  await emu.eks.send(new UpdateClusterConfigCommand({ name: 'lab', resourcesVpcConfig: { endpointPrivateAccess: true } }));
  const privateAddresses = await inside.resolve4(host, { ttl: true });
  assert.ok(privateAddresses.length >= 2);
  assert.ok(privateAddresses.every((a) => /^10\.0\.(1[6-9]|2\d|3[01]|4[89]|5\d|6[0-3])\./.test(a.address) && a.ttl === 5), JSON.stringify(privateAddresses));
  assert.deepEqual(await outside.resolve4(host), [publicAddress]);

  // private only: the private addresses for every asker
  await emu.eks.send(new UpdateClusterConfigCommand({ name: 'lab', resourcesVpcConfig: { endpointPublicAccess: false } }));
  assert.deepEqual(sorted(await outside.resolve4(host)), sorted(privateAddresses.map((a) => a.address)));

  // the EC2 private name of one of those interfaces resolves inside the VPC only
  const [first] = privateAddresses;
  const name = `ip-${first!.address.replaceAll('.', '-')}.us-west-2.compute.internal`;
  assert.deepEqual(await inside.resolve4(name), [first!.address]);
  await assert.rejects(outside.resolve4(name), { code: 'ENOTFOUND' });
});

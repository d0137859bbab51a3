/**
 * EC2's private DNS names as the emulator reports them: DescribeInstances, DescribeNetworkInterfaces (the ENI and
 * each of its addresses) and IMDS `hostname` / `local-hostname`, in IP-name form — `ec2.internal` in us-east-1,
 * `<region>.compute.internal` elsewhere, as EKS names its Nodes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AssignPrivateIpAddressesCommand, CreateSubnetCommand, CreateVpcCommand, DescribeInstancesCommand, DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import { inProcessEc2Client, openEc2State } from '../../../src/ec2/index.js';
import { readImdsPath, renderImdsTree } from '../../../src/ec2/imds.js';
import { launch } from './sdk-harness.js';

for (const [region, domain] of [['us-west-2', 'us-west-2.compute.internal'], ['us-east-1', 'ec2.internal']] as const) {
  test(`${region}: instance, ENI, secondary addresses and IMDS carry ip-a-b-c-d.${domain}`, async () => {
    const state = openEc2State({ region });
    const ec2 = await inProcessEc2Client(state, region);
    try {
      const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
      const { Subnet } = await ec2.send(new CreateSubnetCommand({ VpcId: Vpc!.VpcId!, CidrBlock: '10.0.16.0/24', AvailabilityZone: `${region}a` }));
      const subnetId = Subnet!.SubnetId!;
      const { instanceId, eniId } = await launch(ec2, subnetId, 't3.medium');
      await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 1 }));
      const name = (ip: string) => `ip-${ip.replaceAll('.', '-')}.${domain}`;

      const instance = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0]!.Instances![0]!;
      assert.equal(instance.PrivateDnsName, name(instance.PrivateIpAddress!));
      assert.equal(instance.NetworkInterfaces![0]!.PrivateDnsName, name(instance.PrivateIpAddress!));

      const eni = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }))).NetworkInterfaces![0]!;
      assert.equal(eni.PrivateDnsName, name(eni.PrivateIpAddress!));
      assert.equal(eni.PrivateIpAddresses!.length, 2);
      for (const a of eni.PrivateIpAddresses!) assert.equal(a.PrivateDnsName, name(a.PrivateIpAddress!));

      const tree = { latest: renderImdsTree(state.imdsInstance({ instanceId })!) };
      assert.equal(readImdsPath(tree, '/latest/meta-data/local-hostname'), name(instance.PrivateIpAddress!));
      assert.equal(readImdsPath(tree, '/latest/meta-data/hostname'), name(instance.PrivateIpAddress!));
      const mac = eni.MacAddress!;
      assert.equal(readImdsPath(tree, `/latest/meta-data/network/interfaces/macs/${mac}/local-hostname`), name(instance.PrivateIpAddress!));
    } finally {
      ec2.destroy();
      state.close();
    }
  });
}

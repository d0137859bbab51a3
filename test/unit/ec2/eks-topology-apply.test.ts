// Applying a topology's `cluster:` section through the EKS API, in process (the EC2 and EKS SDK clients answered by
// the emulator's handlers over one in-memory state, as `podnet explain --scenario` builds a scenario): the cluster and
// its Fargate profiles are created once, a second apply changes nothing, a changed allow-list is applied as an
// update, and EKS's refusals name the section's field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyTopology, eksClusters, inProcessEc2Client, inProcessEksClient, openEc2State } from '../../../src/ec2/index.js';
import { PodnetError } from '../../../src/lib/index.js';
import { parseTopology, type Topology } from '../../../src/vpc/index.js';

const topology = (cluster: Record<string, unknown>): Topology =>
  parseTopology({
    vpcs: [{ name: 'main', cidr: '10.0.0.0/16' }],
    subnets: [
      { name: 'public-a', vpc: 'main', az: 'us-west-2a', cidr: '10.0.0.0/20' },
      { name: 'private-a', vpc: 'main', az: 'us-west-2a', cidr: '10.0.16.0/20' },
      { name: 'private-b', vpc: 'main', az: 'us-west-2b', cidr: '10.0.48.0/20' },
      { name: 'private-a2', vpc: 'main', az: 'us-west-2a', cidr: '10.0.64.0/20' },
    ],
    internetGateways: [{ name: 'igw', vpc: 'main' }],
    routeTables: [{ name: 'public', vpc: 'main', subnets: ['public-a'], routes: [{ destination: '0.0.0.0/0', igw: 'igw' }] }],
    securityGroups: [{ name: 'nodes', vpc: 'main' }],
    cluster: { name: 'lab', subnets: ['private-a', 'private-b'], ...cluster },
  });

async function inProcess() {
  const state = openEc2State({ region: 'us-west-2' });
  const ec2 = await inProcessEc2Client(state, 'us-west-2');
  const eks = await inProcessEksClient(state, 'us-west-2');
  return {
    state,
    apply: (t: Topology) => applyTopology(t, ec2, { eks }),
    close: () => {
      ec2.destroy();
      eks.destroy();
      state.close();
    },
  };
}

test('a cluster section builds the cluster (with its additional groups) and its Fargate profiles; a second apply changes nothing', async () => {
  const env = await inProcess();
  try {
    const t = topology({
      securityGroups: ['nodes'],
      endpointPrivateAccess: true,
      publicAccessCidrs: ['198.51.100.0/24'],
      fargateProfiles: [
        { name: 'fp-web', subnets: ['private-a', 'private-b'], selectors: [{ namespace: 'web', labels: { tier: 'front' } }] },
        { name: 'fp-jobs', selectors: [{ namespace: 'jobs' }] },
      ],
    });
    const first = await env.apply(t);
    const eksChanges = first.changes.filter((c) => c.kind === 'cluster' || c.kind === 'fargateProfiles');
    assert.deepEqual(eksChanges.map((c) => [c.kind, c.name, c.change]), [
      ['cluster', 'lab', 'created'],
      ['fargateProfiles', 'fp-web', 'created'],
      ['fargateProfiles', 'fp-jobs', 'created'],
    ]);
    assert.equal(first.ids.cluster.lab, 'arn:aws:eks:us-west-2:111122223333:cluster/lab');
    const [cluster] = eksClusters(env.state);
    assert.equal(cluster!.status, 'ACTIVE');
    assert.deepEqual(cluster!.subnetIds, [first.ids.subnets['private-a'], first.ids.subnets['private-b']]);
    assert.deepEqual(cluster!.securityGroupIds, [first.ids.securityGroups.nodes]);
    assert.deepEqual([cluster!.endpointPublicAccess, cluster!.endpointPrivateAccess, cluster!.publicAccessCidrs], [true, true, ['198.51.100.0/24']]);
    assert.deepEqual(cluster!.fargateProfiles.map((p) => [p.name, p.status, p.subnetIds.length]), [['fp-jobs', 'ACTIVE', 2], ['fp-web', 'ACTIVE', 2]]);
    const again = await env.apply(t);
    assert.deepEqual(again.changes.filter((c) => c.kind === 'cluster' || c.kind === 'fargateProfiles').map((c) => c.change), ['unchanged', 'unchanged', 'unchanged']);
    // a changed allow-list is applied to the existing cluster as an endpoint-access update
    const widened = await env.apply(topology({ securityGroups: ['nodes'], endpointPrivateAccess: true, publicAccessCidrs: ['198.51.100.0/24', '203.0.113.4/32'] }));
    assert.equal(widened.changes.find((c) => c.kind === 'cluster')?.change, 'updated');
    assert.deepEqual(eksClusters(env.state)[0]!.publicAccessCidrs, ['198.51.100.0/24', '203.0.113.4/32']);
  } finally {
    env.close();
  }
});

async function refusal(t: Topology): Promise<string> {
  const env = await inProcess();
  try {
    await env.apply(t);
  } catch (err) {
    assert.ok(err instanceof PodnetError, String(err));
    return err.message;
  } finally {
    env.close();
  }
  assert.fail('the topology was applied');
}

test('EKS\'s refusals name the section\'s field: subnets in one zone, a Fargate profile in a public subnet, a version EKS lacks', async () => {
  assert.equal(
    await refusal(topology({ subnets: ['private-a', 'private-a2'] })),
    "topology: EKS refused cluster 'lab': cluster.subnets: InvalidParameterException: Subnets specified must be in at least two different AZs",
  );
  assert.match(
    await refusal(topology({ fargateProfiles: [{ name: 'fp-public', subnets: ['public-a'], selectors: [{ namespace: 'web' }] }] })),
    /^topology: EKS refused Fargate profile 'fp-public': cluster\.fargateProfiles\[0\]\.subnets: InvalidParameterException: Subnet subnet-[0-9a-f]+ provided in Fargate Profile is not a private subnet$/,
  );
  assert.match(await refusal(topology({ version: '1.10' })), /cluster\.version: InvalidParameterException: unsupported Kubernetes version 1\.10/);
});

test('a topology with a cluster and no EKS client is refused before anything is created', async () => {
  const state = openEc2State({ region: 'us-west-2' });
  const ec2 = await inProcessEc2Client(state, 'us-west-2');
  try {
    await assert.rejects(applyTopology(topology({}), ec2), /the cluster section \(cluster 'lab'\) needs an EKS client/);
  } finally {
    ec2.destroy();
    state.close();
  }
});

test('what EKS cannot change is refused on an existing cluster, naming the field, before anything changes; endpoint access stays an update', async () => {
  const env = await inProcess();
  const base = { securityGroups: ['nodes'], version: '1.32', fargateProfiles: [{ name: 'fp-web', selectors: [{ namespace: 'web', labels: { tier: 'front' } }] }] };
  const refusedWith = async (over: Record<string, unknown>) => {
    try {
      await env.apply(topology({ ...base, ...over }));
    } catch (err) {
      assert.ok(err instanceof PodnetError, String(err));
      return err.message;
    }
    return assert.fail('the topology was applied');
  };
  try {
    await env.apply(topology(base));
    const before = JSON.stringify(eksClusters(env.state));
    assert.equal(
      await refusedWith({ subnets: ['private-a', 'private-a2'], endpointPrivateAccess: true }),
      'topology: cluster.subnets: the cluster exists with other subnets (private-a, private-b); EKS cannot change them — delete the cluster or make the file match',
    );
    assert.match(await refusedWith({ securityGroups: [] }), /^topology: cluster\.securityGroups: the cluster exists with other security groups \(nodes\); EKS cannot change them/);
    assert.match(await refusedWith({ version: '1.33' }), /^topology: cluster\.version: the cluster exists with another Kubernetes version \(1\.32\)/);
    assert.match(
      await refusedWith({ endpointPrivateAccess: true, fargateProfiles: [{ name: 'fp-web', selectors: [{ namespace: 'web' }] }] }),
      /^topology: cluster\.fargateProfiles\[0\]\.selectors: the Fargate profile 'fp-web' exists with other selectors \(web \{"tier":"front"\}\); EKS cannot change them — delete the Fargate profile/,
    );
    assert.match(
      await refusedWith({ fargateProfiles: [{ name: 'fp-web', subnets: ['private-a'], selectors: [{ namespace: 'web', labels: { tier: 'front' } }] }] }),
      /^topology: cluster\.fargateProfiles\[0\]\.subnets: the Fargate profile 'fp-web' exists with other subnets \(private-a, private-b\)/,
    );
    // none of the refused applies changed the cluster (the endpoint update beside a refused field was not made)
    assert.equal(JSON.stringify(eksClusters(env.state)), before);
    // the same selectors in another order, the profile's subnets named as the cluster's: unchanged; endpoint access: an update
    const same = await env.apply(topology({ ...base, subnets: ['private-b', 'private-a'], fargateProfiles: [{ name: 'fp-web', subnets: ['private-b', 'private-a'], selectors: [{ namespace: 'web', labels: { tier: 'front' } }] }] }));
    assert.deepEqual(same.changes.filter((c) => c.kind === 'cluster' || c.kind === 'fargateProfiles').map((c) => c.change), ['unchanged', 'unchanged']);
    const updated = await env.apply(topology({ ...base, endpointPrivateAccess: true }));
    assert.equal(updated.changes.find((c) => c.kind === 'cluster')?.change, 'updated');
  } finally {
    env.close();
  }
});

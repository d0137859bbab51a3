// The topology's `cluster:` section (issue 17): named as the EKS API names its fields, EKS's defaults, and refused with
// a field path for undeclared names, a bad name and too many selectors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PodnetError } from '../../../src/lib/index.js';
import { parseTopology } from '../../../src/vpc/index.js';

const base = (cluster: unknown): unknown => ({
  vpcs: [{ name: 'main', cidr: '10.0.0.0/16' }],
  subnets: [
    { name: 'private-a', vpc: 'main', az: 'us-west-2a', cidr: '10.0.16.0/20' },
    { name: 'private-b', vpc: 'main', az: 'us-west-2b', cidr: '10.0.48.0/20' },
  ],
  securityGroups: [{ name: 'nodes', vpc: 'main' }],
  cluster,
});

function refusal(doc: unknown): string {
  try {
    parseTopology(doc);
  } catch (err) {
    assert.ok(err instanceof PodnetError, String(err));
    return err.message;
  }
  assert.fail('the topology was accepted');
}

test('a cluster section with EKS\'s defaults: public endpoint open to 0.0.0.0/0, private off, no groups, no profiles', () => {
  const t = parseTopology(base({ name: 'lab', subnets: ['private-a', 'private-b'] }));
  assert.deepEqual(t.cluster, {
    name: 'lab',
    subnets: ['private-a', 'private-b'],
    securityGroups: [],
    endpointPublicAccess: true,
    endpointPrivateAccess: false,
    publicAccessCidrs: ['0.0.0.0/0'],
    fargateProfiles: [],
  });
  assert.equal(parseTopology(base(undefined)).cluster, undefined);
});

test('every field as written: version, groups, access, allow-list, Fargate profiles with selectors', () => {
  const cluster = {
    name: 'lab',
    version: '1.32',
    subnets: ['private-a', 'private-b'],
    securityGroups: ['nodes'],
    endpointPublicAccess: true,
    endpointPrivateAccess: true,
    publicAccessCidrs: ['198.51.100.0/24'],
    fargateProfiles: [{ name: 'fp-web', subnets: ['private-a'], selectors: [{ namespace: 'web', labels: { tier: 'front' } }, { namespace: 'jobs' }] }, { name: 'fp-default', selectors: [{ namespace: 'default' }] }],
  };
  assert.deepEqual(parseTopology(base(cluster)).cluster, cluster);
});

test('undeclared subnets and groups, a duplicate profile and a bad name are refused with their field paths', () => {
  const message = refusal(
    base({
      name: 'lab',
      subnets: ['private-a', 'private-c'],
      securityGroups: ['nodez'],
      fargateProfiles: [
        { name: 'fp', subnets: ['public-a'], selectors: [{ namespace: 'a' }] },
        { name: 'fp', selectors: [{ namespace: 'b' }] },
      ],
    }),
  );
  assert.match(message, /cluster\.subnets\[1\]: no subnet named 'private-c'/);
  assert.match(message, /cluster\.securityGroups\[0\]: no security group named 'nodez'/);
  assert.match(message, /cluster\.fargateProfiles\[0\]\.subnets\[0\]: no subnet named 'public-a'/);
  assert.match(message, /cluster\.fargateProfiles\[1\]\.name: 'fp' is declared twice/);
  assert.match(refusal(base({ name: '-lab', subnets: ['private-a'] })), /cluster\.name/);
  const six = Array.from({ length: 6 }, (_, i) => ({ namespace: `n${i}` }));
  assert.match(refusal(base({ name: 'lab', subnets: ['private-a'], fargateProfiles: [{ name: 'fp', selectors: six }] })), /cluster\.fargateProfiles\[0\]\.selectors/);
  assert.match(refusal(base({ name: 'lab', subnets: ['private-a'], publicAccessCidrs: ['nope'] })), /cluster\.publicAccessCidrs\[0\]/);
  assert.match(refusal(base({ name: 'lab', subnets: ['private-a'], endpoint: true })), /cluster/);
  // one cluster per file: a list is not a cluster
  assert.match(refusal(base([{ name: 'lab', subnets: ['private-a'] }])), /cluster/);
});

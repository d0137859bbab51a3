// The VPC router with a secondary block: every block of the VPC is local (rule 100 to main, an unreachable route for
// what no ENI holds, the no-route counter), and an ENI in a subnet of the secondary block is routed like any other.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ec2Facts, EniMapping } from '../../../src/ec2/index.js';
import { defaultScenarioPath, eniPortName, loadScenario, planFabric, renderFabric, renderFixedFabric } from '../../../src/lab/index.js';
import { defaultVpcFacts } from '../vpc/default-vpc.js';

const scenario = await loadScenario(defaultScenarioPath);
const plan = planFabric(scenario);
const facts: Ec2Facts = {
  ...defaultVpcFacts,
  vpcs: defaultVpcFacts.vpcs.map((v) => (v.id === 'vpc-main' ? { ...v, cidrs: ['10.0.0.0/16', '100.64.0.0/16'] } : v)),
  subnets: [...defaultVpcFacts.subnets, { id: 'subnet-pods', name: 'pods-a', vpcId: 'vpc-main', cidr: '100.64.32.0/19', routeTableId: 'rtb-private' }],
  instances: [{ id: 'i-cn', name: 'pub-cn' }],
  securityGroups: [],
};
const mapping: EniMapping = {
  eniId: 'eni-cn1', mac: '02:00:00:00:00:31', vpcId: 'vpc-main', subnetId: 'subnet-pods', instanceId: 'i-cn', deviceIndex: 1,
  privateIps: ['100.64.32.4', '100.64.32.5'], ipv4Prefixes: [], ipv6Addresses: [], ipv6Prefixes: [], publicIps: {}, groupIds: [],
  description: '', requesterManaged: false,
};
const desired = renderFabric(plan, scenario, facts, [mapping]);

test('every VPC block is local in the router: rule 100 and an unreachable route per block, the no-route counter for both', () => {
  const rules = desired.rules.get('pn-r-main')!;
  assert.ok(rules.includes('pref 100 to 10.0.0.0/16 lookup main'));
  assert.ok(rules.includes('pref 100 to 100.64.0.0/16 lookup main'));
  const routes = desired.routes.get('pn-r-main')!;
  assert.ok(routes.includes('unreachable 10.0.0.0/16'));
  assert.ok(routes.includes('unreachable 100.64.0.0/16'));
  assert.match(desired.nft.get('pn-r-main')!, /ip daddr \{ 10\.0\.0\.0\/16, 100\.64\.0\.0\/16 \} fib daddr oif missing counter/);
  // the peer VPC has its one block, as before
  assert.ok(desired.rules.get('pn-r-peer')!.includes('pref 100 to 10.1.0.0/16 lookup main'));
  assert.ok(!desired.rules.get('pn-r-peer')!.some((r) => r.includes('100.64.')));
});

test('an ENI in a subnet of the secondary block is routed and checked like one in the primary block', () => {
  const port = eniPortName('eni-cn1');
  const routes = desired.routes.get('pn-r-main')!;
  assert.ok(routes.includes(`100.64.32.4/32 dev ${port} scope link`));
  assert.ok(routes.includes(`100.64.32.5/32 via 100.64.32.4 dev ${port} onlink`));
  assert.match(desired.nft.get('pn-r-main')!, new RegExp(`"${port}" \\. 100\\.64\\.32\\.5/32`));
});

test('the aws namespace and the internet gateway route every block of the VPC back to its router', () => {
  const main = plan.vpcs.find((v) => v.name === 'main')!;
  assert.deepEqual(main.cidrs, ['10.0.0.0/16', '100.64.0.0/16']);
  const fixed = renderFixedFabric(plan);
  for (const c of main.cidrs) assert.ok(fixed.perNs.get('pn-aws')!.includes(`route add ${c} via ${main.awsRouterIp}`), c);
  const igw = plan.igws.find((g) => g.vpc === 'main')!;
  for (const c of main.cidrs) assert.ok(fixed.perNs.get(igw.ns)!.includes(`route add ${c} via ${igw.routerSideIp}`), c);
});

test('the scenario loader keeps subnets off the lab\'s link range and VPC blocks from overlapping across VPCs', async () => {
  const { parseScenario, LAB_LINK_RANGE } = await import('../../../src/lab/index.js');
  const problem = (doc: unknown) => {
    try {
      parseScenario(doc);
      return '';
    } catch (err) {
      return (err as Error).message;
    }
  };
  const doc = (pods: string, peerSecondary: string[] = []) => ({
    vpcs: [{ name: 'main', cidr: '10.0.0.0/16', secondaryCidrs: ['100.64.0.0/16'] }, { name: 'other', cidr: '10.9.0.0/16', secondaryCidrs: peerSecondary }],
    subnets: [{ name: 'nodes-a', vpc: 'main', az: 'us-west-2a', cidr: '10.0.1.0/24' }, { name: 'pods-a', vpc: 'main', az: 'us-west-2a', cidr: pods }],
    instances: [{ name: 'n1', type: 't3.small', subnet: 'nodes-a' }],
    nodes: [{ instance: 'n1' }],
  });
  assert.equal(problem(doc('100.64.32.0/19')), '');
  assert.match(problem(doc('100.64.0.0/19')), /subnets\[1\]\.cidr: 100\.64\.0\.0\/19 overlaps 100\.64\.0\.0\/24, which the lab uses for its links between namespaces/);
  assert.equal(LAB_LINK_RANGE.prefixLength, 24);
  assert.match(problem(doc('100.64.32.0/19', ['100.64.0.0/20'])), /vpcs\[1\]\.secondaryCidrs\[0\]: 100\.64\.0\.0\/20 overlaps 100\.64\.0\.0\/16 of vpcs\[0\]; the lab routes VPCs by address/);
});

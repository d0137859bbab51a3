// `podnet explain --scenario` with a cluster: section — the scenario's EKS cluster built by the in-process EKS API
// (its ENIs in the VPC, its public address), its endpoint named cluster-endpoint, each node's answer by EKS's rule.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { explainFlow, type World } from '../../../src/explain/index.js';
import { defaultScenarioPath, loadScenario, nodeEndpointVerdicts, scenarioWorld } from '../../../src/lab/index.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-explain-eks-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let clusterName = 'lab';

/** The default scenario's cluster (or, without one, a cluster in a second private subnet: EKS wants two zones) with these endpoint settings. */
function scenarioWithCluster(cluster: Record<string, unknown>): string {
  const doc = parse(readFileSync(defaultScenarioPath, 'utf8')) as Record<string, any>;
  if (doc.cluster) doc.cluster = { ...doc.cluster, ...cluster };
  else {
    doc.subnets.push({ name: 'private-b', vpc: 'main', az: 'us-west-2b', cidr: '10.0.48.0/20' });
    doc.routeTables.find((t: { name: string }) => t.name === 'private').subnets.push('private-b');
    doc.cluster = { name: 'lab', subnets: ['private-a', 'private-b'], securityGroups: ['nodes'], ...cluster };
  }
  clusterName = doc.cluster.name;
  const path = join(dir, `scenario-${Object.keys(cluster).join('-')}.yaml`);
  writeFileSync(path, stringify(doc));
  return path;
}

let world: World;
before(async () => {
  world = await scenarioWorld(await loadScenario(scenarioWithCluster({ endpointPublicAccess: true, endpointPrivateAccess: false, publicAccessCidrs: ['198.51.100.0/24'] })));
}, { timeout: 120_000 });

test('the cluster is in the world: its ENIs in the private subnets, its public address, its endpoint cluster-endpoint', () => {
  const cluster = world.model.eksClusters?.[0];
  assert.ok(cluster, 'model.eksClusters');
  assert.equal(cluster.name, clusterName);
  assert.ok(cluster.enis.length >= 2);
  assert.ok(cluster.enis.every((e) => world.model.enis.some((x) => x.eniId === e.eniId)), 'the cluster ENIs are ENIs of the model');
  const endpoint = world.endpoints.find((e) => e.name === 'cluster-endpoint');
  assert.equal(endpoint?.kind, 'cluster-endpoint');
  assert.equal(endpoint?.address, cluster.publicAddress);
});

test('an allow-list of the internet: private nodes refused with the NAT gateway\'s EIP named, a node without public IP dropped at the internet gateway, inet admitted', () => {
  const verdicts = new Map(nodeEndpointVerdicts(world).map((v) => [v.node, v]));
  const nat = world.model.natGateways[0]!.publicIp!;
  assert.equal(verdicts.get('priv')!.reaches, false);
  assert.equal(verdicts.get('priv')!.reason, `cannot reach the cluster endpoint: public endpoint allow-list 198.51.100.0/24 does not include the NAT gateway's ${nat}`);
  assert.ok(verdicts.get('pub-noip')!.codes.includes('NO_PUBLIC_IP'));
  assert.match(verdicts.get('pub-ip')!.reason ?? '', /does not include node pub-ip's public IP 203\.0\.113\.\d+$/);
  const inet = explainFlow(world, { from: 'inet', to: 'cluster-endpoint', protocol: 'tcp', port: 443 });
  assert.equal(inet.verdict, 'delivered');
  assert.equal(inet.sourceSeen, '198.51.100.10');
});

// explain --aws and security groups for pods: the reader over the emulator (examples/lab-sgp.yaml's VPC, a trunk and
// branches made with the sgp-controller's own EC2 calls) reads trunk associations page by page and each ENI's
// interface type; a refused DescribeTrunkInterfaceAssociations leaves the branches unexplained as such, and says so.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AssignPrivateIpAddressesCommand, CreateTagsCommand } from '@aws-sdk/client-ec2';
import { applyTopology, awsExplainSource, describeFacts, startEc2Server } from '../../../src/ec2/index.js';
import { awsWorld, readNodeSettings } from '../../../src/ec2/explain-reader.js';
import { explainFlow, formatExplanation, type AttachedEni, type World } from '../../../src/explain/index.js';
import { renderNodeRules } from '../../../src/explain/node-rules.js';
import { formatRule } from '../../../src/dataplane/index.js';
import { loadScenario } from '../../../src/lab/index.js';
import { PodnetError } from '../../../src/lib/index.js';
import { associateBranch, createBranch, createTrunk, describeNodeInstance } from '../../../src/sgp-controller/ec2.js';
import { sdkClient, startEmulator, type EmulatorHandle } from './sdk-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-explain-aws-sgp-'));
const envFile = join(dir, 'node.env');
writeFileSync(envFile, 'ENABLE_POD_ENI=true\n');
const scenarioPath = new URL('../../../examples/lab-sgp.yaml', import.meta.url).pathname;
/** Branches on strict-snat's trunk: more than one page of 5 (the smallest page EC2 allows). */
const BRANCHES = 6;

// the SDK's default credential chain reads these; the emulator takes any key
const savedEnv = { ...process.env };
before(() => Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' }));
after(() => {
  process.env = savedEnv;
  rmSync(dir, { recursive: true, force: true });
});

describe('explain --aws with trunk and branch ENIs', () => {
  let emulator: EmulatorHandle;
  let instances: Record<string, string>;
  let trunkId: string;
  let bareTrunkId: string;
  let branches: { eniId: string; privateIp: string }[];
  let plainPod: string;
  before(async () => {
    emulator = await startEmulator({ region: 'us-west-2' });
    const ec2 = emulator.ec2;
    instances = (await applyTopology(await loadScenario(scenarioPath), ec2)).ids.instances;
    await ec2.send(new CreateTagsCommand({ Resources: [instances['strict-snat']!, instances['std-snat']!, instances['other']!], Tags: [{ Key: 'eks:cluster-name', Value: 'sgp' }] }));
    const podSg = (await describeFacts(ec2)).securityGroups.find((g) => g.name === 'pod-sg')!.id;
    // strict-snat: a trunk with branches in pod-sg on VLANs 1…; std-snat: a trunk no branch names yet
    const node = await describeNodeInstance(ec2, instances['strict-snat']!);
    trunkId = await createTrunk(ec2, node, 1, 'sgp');
    branches = [];
    for (let vlanId = 1; vlanId <= BRANCHES; vlanId++) {
      const b = await createBranch(ec2, { subnetId: node.subnetId, groups: [podSg], vlanId, trunkId, instanceId: node.instanceId, cluster: 'sgp', now: new Date() });
      await associateBranch(ec2, trunkId, b.eniId, vlanId);
      branches.push(b);
    }
    bareTrunkId = await createTrunk(ec2, await describeNodeInstance(ec2, instances['std-snat']!), 1, 'sgp');
    // a plain pod's address on strict-snat's primary ENI, as ipamd would have assigned it
    const primary = emulator.server.state.mappingSnapshot().find((e) => e.instanceId === instances['strict-snat'] && e.deviceIndex === 0)!;
    plainPod = (await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: primary.eniId, SecondaryPrivateIpAddressCount: 1 }))).AssignedPrivateIpAddresses![0]!.PrivateIpAddress!;
  });
  after(() => emulator.close());

  const read = () => awsExplainSource({ region: 'us-west-2', endpointUrl: emulator.server.ec2Url, nodeConfig: envFile, cluster: 'sgp' });
  const eniOf = (world: World, id: string): AttachedEni => (world.model.enis as AttachedEni[]).find((e) => e.eniId === id)!;

  test('each branch ENI carries its trunk and VLAN, each ENI its interface type; a branch\'s address is a pod of its trunk\'s node', async () => {
    const { world } = await read();
    assert.equal(world.warnings, undefined);
    branches.forEach((b, i) => {
      assert.deepEqual(eniOf(world, b.eniId).trunk, { trunkEniId: trunkId, vlanId: i + 1 });
      assert.equal(eniOf(world, b.eniId).interfaceType, 'branch');
      assert.deepEqual(world.endpoints.find((e) => e.address === b.privateIp), { name: b.privateIp, kind: 'pod', address: b.privateIp, node: 'strict-snat' });
    });
    assert.equal(eniOf(world, trunkId).interfaceType, 'trunk');
    assert.equal(eniOf(world, bareTrunkId).interfaceType, 'trunk');
    const primary = (world.model.enis as AttachedEni[]).find((e) => e.instanceId === instances['strict-snat'] && e.deviceIndex === 0)!;
    assert.equal(primary.interfaceType, 'interface');
  });

  test('DescribeTrunkInterfaceAssociations is read page by page', async () => {
    const client = sdkClient(emulator.server.ec2Url);
    let pages = 0;
    // the smallest page EC2 allows, so BRANCHES associations take two
    client.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'DescribeTrunkInterfaceAssociationsCommand') {
        pages++;
        Object.assign(args.input as object, { MaxResults: 5 });
      }
      return next(args);
    }, { step: 'initialize', name: 'testSmallPages' });
    try {
      const world = await awsWorld(client, readNodeSettings(envFile), 'sgp');
      assert.equal(pages, 2);
      assert.equal((world.model.enis as AttachedEni[]).filter((e) => e.trunk?.trunkEniId === trunkId).length, BRANCHES);
    } finally {
      client.destroy();
    }
  });

  test('what EC2 sends is validated: an interface type outside its grammar or a VLAN id outside 1–4094 fails naming the call and the value', async () => {
    const tampered = async (command: string, change: (output: Record<string, unknown[]>) => void) => {
      const client = sdkClient(emulator.server.ec2Url);
      client.middlewareStack.add((next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === command) change(result.output as unknown as Record<string, unknown[]>);
        return result;
      }, { step: 'initialize', name: 'testTamper' });
      try {
        return await awsWorld(client, readNodeSettings(envFile), 'sgp').then(() => assert.fail('expected a failure'), (e: unknown) => e as PodnetError);
      } finally {
        client.destroy();
      }
    };
    const badType = await tampered('DescribeNetworkInterfacesCommand', (o) => Object.assign(o.NetworkInterfaces![0]!, { InterfaceType: 'Trunk ENI' }));
    assert.ok(badType instanceof PodnetError);
    assert.match(badType.message, /^EC2 answered DescribeNetworkInterfaces with InterfaceType of eni-[0-9a-f]+ "Trunk ENI", which is not what EC2 documents/);
    const badVlan = await tampered('DescribeTrunkInterfaceAssociationsCommand', (o) => Object.assign(o.InterfaceAssociations![0]!, { VlanId: 0 }));
    assert.ok(badVlan instanceof PodnetError);
    assert.match(badVlan.message, /^EC2 answered DescribeTrunkInterfaceAssociations with association trunk-assoc-[0-9a-f]+ .*VlanId: /);
  });

  test('a branch pod is explained as one: it reaches db by its own group, a plain pod of the same node does not', async () => {
    const { world } = await read();
    const branch = explainFlow(world, { from: branches[0]!.privateIp, to: 'db', protocol: 'tcp', port: 5432 });
    assert.equal(branch.verdict, 'delivered', branch.reason);
    assert.equal(branch.sourceSeen, branches[0]!.privateIp);
    for (const code of ['BRANCH_ENI', 'SGP_STRICT']) assert.ok(branch.codes.includes(code), branch.codes.join(' '));
    assert.ok(branch.forward.some((h) => h.element === 'node-routing' && h.action === `out vlan.eth.1 (${branches[0]!.eniId})`), JSON.stringify(branch.forward, null, 1));
    const plain = explainFlow(world, { from: plainPod, to: 'db', protocol: 'tcp', port: 5432 });
    assert.equal(plain.verdict, 'dropped');
    assert.equal(plain.forward.find((h) => h.dropped)?.element, 'security-group');
  });

  test('a trunk no branch names yet gets its table but no prio-32765 rule: it is known by its interface type', async () => {
    const { world } = await read();
    const set = renderNodeRules(world, world.nodes.find((n) => n.name === 'std-snat')!);
    assert.ok(!('missing' in set), 'missing' in set ? set.missing : '');
    assert.ok(set.routes.some((r) => r.table === 2 && r.dst === 'default'));
    assert.deepEqual(set.ipRules.filter((r) => r.priority === 32765).map(formatRule), []);
  });

  test('DescribeTrunkInterfaceAssociations refused: explain goes on without branch info, and every answer says so', async () => {
    const faults = (body: object) => fetch(`${emulator.server.ec2Url}/_podnet/faults`, { method: 'POST', body: JSON.stringify(body) });
    await faults({ actions: { DescribeTrunkInterfaceAssociations: { errorRate: 1, errorCode: 'UnauthorizedOperation', status: 403 } } });
    try {
      const { world } = await read();
      assert.equal(world.warnings?.length, 1);
      assert.match(world.warnings![0]!, new RegExp(`^EC2 refused DescribeTrunkInterfaceAssociations \\(UnauthorizedOperation: the credentials lack ec2:DescribeTrunkInterfaceAssociations\\), so the ${BRANCHES} branch ENIs \\(${branches[0]!.eniId}, `));
      assert.match(world.warnings![0]!, /explained as a plain host on its branch ENI .*docs\/iam-policy\.md/);
      // the types are still read: the branch is typed, the trunk still takes no prio-32765 rule
      assert.equal(eniOf(world, branches[0]!.eniId).trunk, undefined);
      assert.equal(eniOf(world, branches[0]!.eniId).interfaceType, 'branch');
      const set = renderNodeRules(world, world.nodes.find((n) => n.name === 'strict-snat')!);
      assert.ok(!('missing' in set) && !set.ipRules.some((r) => r.priority === 32765));
      const e = explainFlow(world, { from: branches[0]!.privateIp, to: 'db', protocol: 'tcp', port: 5432 });
      assert.equal(e.from.kind, 'host');
      assert.ok(!e.codes.includes('BRANCH_ENI'));
      assert.deepEqual(e.warnings, world.warnings);
      assert.ok(formatExplanation(e).includes(`\nwarning: ${world.warnings![0]}.\n`), formatExplanation(e));
    } finally {
      await faults({ actions: {} });
    }
  });
});

test('DescribeTrunkInterfaceAssociations refused in an account without branch ENIs: nothing is missing, no warning', async () => {
  const server = await startEc2Server({ region: 'us-west-2', throttle: false, faults: { actions: { DescribeTrunkInterfaceAssociations: { errorRate: 1, errorCode: 'UnauthorizedOperation', status: 403 } } } });
  try {
    const { world } = await awsExplainSource({ region: 'us-west-2', endpointUrl: server.ec2Url, nodeConfig: envFile });
    assert.equal(world.warnings, undefined);
  } finally {
    await server.close();
  }
});

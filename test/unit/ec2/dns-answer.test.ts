import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { answerQuestion, isDnsQueryName, vpcOfAddress, type VpcDnsView } from '../../../src/ec2/dns-answer.js';
import { fakeCluster } from './dns-fixtures.js';

const view = (overrides: Partial<VpcDnsView> = {}): VpcDnsView => ({
  region: 'us-west-2',
  vpcs: [
    { vpcId: 'vpc-a', cidrs: ['10.0.0.0/16', '100.64.0.0/16'] },
    { vpcId: 'vpc-b', cidrs: ['10.1.0.0/16'] },
  ],
  clusters: [fakeCluster()],
  serviceAddress: '10.9.0.1',
  ...overrides,
});

const ask = (name: string, type = 'A', vpc: string | null = 'vpc-a', v = view()) => answerQuestion(v, vpc, { name, type });

describe('VPC DNS answers (AmazonProvidedDNS)', () => {
  test('an EC2 private name resolves to its address inside the asking VPC, primary or secondary block, TTL 60 s', () => {
    assert.deepEqual(ask('ip-10-0-16-4.us-west-2.compute.internal'), { rcode: 'NOERROR', answers: [{ name: 'ip-10-0-16-4.us-west-2.compute.internal', type: 'A', ttl: 60, data: '10.0.16.4' }] });
    assert.equal(ask('ip-100-64-3-9.us-west-2.compute.internal').answers[0]?.data, '100.64.3.9');
  });

  test('names compare without case; the record carries the name as asked', () => {
    const a = ask('IP-10-0-16-4.US-WEST-2.Compute.Internal.');
    assert.equal(a.rcode, 'NOERROR');
    assert.deepEqual(a.answers.map((r) => [r.name, r.data]), [['IP-10-0-16-4.US-WEST-2.Compute.Internal', '10.0.16.4']]);
  });

  test("another VPC's private names, and addresses in no VPC, are NXDOMAIN (each VPC's resolver answers for its own)", () => {
    assert.equal(ask('ip-10-1-0-5.us-west-2.compute.internal').rcode, 'NXDOMAIN');
    assert.equal(ask('ip-10-1-0-5.us-west-2.compute.internal', 'A', 'vpc-b').answers[0]?.data, '10.1.0.5');
    assert.equal(ask('ip-192-168-0-5.us-west-2.compute.internal').rcode, 'NXDOMAIN');
    assert.equal(ask('ip-10-0-16-4.us-west-2.compute.internal', 'A', null).rcode, 'NXDOMAIN');
  });

  test("us-east-1's names end in ec2.internal; another region's domain or a name EC2 would not write is unknown", () => {
    const east = view({ region: 'us-east-1' });
    assert.equal(ask('ip-10-0-16-4.ec2.internal', 'A', 'vpc-a', east).answers[0]?.data, '10.0.16.4');
    assert.equal(ask('ip-10-0-16-4.us-east-1.compute.internal', 'A', 'vpc-a', east).rcode, 'NXDOMAIN');
    assert.equal(ask('ip-10-0-16-4.eu-west-1.compute.internal').rcode, 'NXDOMAIN');
    assert.equal(ask('ip-10-0-016-4.us-west-2.compute.internal').rcode, 'NXDOMAIN');
    assert.equal(ask('ip-10-0-16-256.us-west-2.compute.internal').rcode, 'NXDOMAIN');
    assert.equal(ask('ip-10-0-16.us-west-2.compute.internal').rcode, 'NXDOMAIN');
  });

  test('Fargate node names are Kubernetes names only: NXDOMAIN', () => {
    assert.equal(ask('fargate-ip-10-0-16-4.us-west-2.compute.internal').rcode, 'NXDOMAIN');
  });

  test('a PTR for an address of the asking VPC gives its private name; other addresses NXDOMAIN', () => {
    assert.deepEqual(ask('4.16.0.10.in-addr.arpa', 'PTR'), { rcode: 'NOERROR', answers: [{ name: '4.16.0.10.in-addr.arpa', type: 'PTR', ttl: 60, data: 'ip-10-0-16-4.us-west-2.compute.internal' }] });
    assert.equal(ask('5.0.1.10.in-addr.arpa', 'PTR').rcode, 'NXDOMAIN');
    assert.equal(ask('04.16.0.10.in-addr.arpa', 'PTR').rcode, 'NXDOMAIN');
    // the name exists; an A question for it has no records
    assert.deepEqual(ask('4.16.0.10.in-addr.arpa', 'A'), { rcode: 'NOERROR', answers: [] });
  });

  test('the cluster endpoint: public address by default, TTL 5 s', () => {
    const host = fakeCluster().hostname;
    assert.deepEqual(ask(host), { rcode: 'NOERROR', answers: [{ name: host, type: 'A', ttl: 5, data: '203.0.113.50' }] });
    assert.equal(ask(host.toLowerCase()).answers[0]?.data, '203.0.113.50');
  });

  test("the cluster endpoint with private access: its interfaces' addresses inside its VPC, the public address elsewhere", () => {
    const both = view({ clusters: [fakeCluster({ endpointPrivateAccess: true })] });
    const host = fakeCluster().hostname;
    assert.deepEqual(ask(host, 'A', 'vpc-a', both).answers.map((r) => r.data), ['10.0.16.20', '10.0.32.20']);
    assert.deepEqual(ask(host, 'A', 'vpc-b', both).answers.map((r) => r.data), ['203.0.113.50']);
    assert.deepEqual(ask(host, 'A', null, both).answers.map((r) => r.data), ['203.0.113.50']);
  });

  test('a private-only cluster endpoint: the private addresses for every asker', () => {
    const privateOnly = view({ clusters: [fakeCluster({ endpointPrivateAccess: true, endpointPublicAccess: false, publicAddress: null })] });
    for (const vpc of ['vpc-a', 'vpc-b', null]) assert.deepEqual(ask(fakeCluster().hostname, 'A', vpc, privateOnly).answers.map((r) => r.data), ['10.0.16.20', '10.0.32.20']);
  });

  test('AAAA for a known name: NOERROR with no records', () => {
    assert.deepEqual(ask(fakeCluster().hostname, 'AAAA'), { rcode: 'NOERROR', answers: [] });
    assert.deepEqual(ask('ip-10-0-16-4.us-west-2.compute.internal', 'AAAA'), { rcode: 'NOERROR', answers: [] });
    assert.deepEqual(ask('ec2.us-west-2.amazonaws.com', 'AAAA'), { rcode: 'NOERROR', answers: [] });
  });

  test("ec2. and eks.<region>.amazonaws.com resolve to the emulator's address (an interface endpoint with private DNS)", () => {
    assert.equal(ask('ec2.us-west-2.amazonaws.com').answers[0]?.data, '10.9.0.1');
    assert.equal(ask('eks.us-west-2.amazonaws.com', 'A', null).answers[0]?.data, '10.9.0.1');
    assert.equal(ask('ec2.us-west-2.amazonaws.com').answers[0]?.ttl, 60);
    assert.equal(ask('ec2.eu-west-1.amazonaws.com').rcode, 'NXDOMAIN');
    assert.equal(ask('ec2.us-west-2.amazonaws.com', 'A', 'vpc-a', view({ serviceAddress: null })).rcode, 'NXDOMAIN');
  });

  test('everything else is NXDOMAIN: the lab has no internet DNS', () => {
    for (const name of ['example.com', 'sts.us-west-2.amazonaws.com', 'compute.internal', 'us-west-2.compute.internal', 'localhost']) assert.equal(ask(name).rcode, 'NXDOMAIN', name);
  });

  test('a name outside DNS grammar is FORMERR; the root is REFUSED', () => {
    for (const name of ['a..b', '-a.example', 'a b.example', 'ex\\.ample', 'é.example', `${'a'.repeat(64)}.example`, 'a.'.repeat(127) + 'a']) assert.equal(ask(name).rcode, 'FORMERR', name);
    assert.equal(ask('.').rcode, 'REFUSED');
    assert.equal(isDnsQueryName('_dns.resolver.arpa'), true);
  });

  test('vpcOfAddress: the VPC whose blocks hold the address; null for none or IPv6', () => {
    assert.equal(vpcOfAddress(view().vpcs, '10.0.0.2'), 'vpc-a');
    assert.equal(vpcOfAddress(view().vpcs, '100.64.0.2'), 'vpc-a');
    assert.equal(vpcOfAddress(view().vpcs, '10.1.0.2'), 'vpc-b');
    assert.equal(vpcOfAddress(view().vpcs, '127.0.0.1'), null);
    assert.equal(vpcOfAddress(view().vpcs, '::1'), null);
  });
});

test('a cluster interface without an address (being deleted) is left out of the endpoint answer', () => {
  const c = fakeCluster({ endpointPrivateAccess: true, enis: [{ eniId: 'eni-1', subnetId: 'subnet-1', privateIp: '' }, { eniId: 'eni-2', subnetId: 'subnet-2', privateIp: '10.0.32.20' }] });
  assert.deepEqual(answerQuestion(view({ clusters: [c] }), 'vpc-a', { name: c.hostname, type: 'A' }).answers.map((r) => r.data), ['10.0.32.20']);
});

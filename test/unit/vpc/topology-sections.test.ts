/**
 * The topology file's fabric sections (issue 13): security-group rules naming a CIDR or a group, network ACLs,
 * secondary VPC CIDRs, transit gateways, virtual private gateways and on-premises networks — accepted as written,
 * and refused with a field path for every name that is not declared or does not fit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTopology } from '../../../src/vpc/index.js';
import { PodnetError } from '../../../src/lib/index.js';

const base = (): any => ({
  vpcs: [{ name: 'main', cidr: '10.0.0.0/16', secondaryCidrs: ['100.64.0.0/16'] }, { name: 'peer', cidr: '10.1.0.0/16' }],
  subnets: [
    { name: 'a', vpc: 'main', az: 'us-west-2a', cidr: '10.0.1.0/24' },
    { name: 'pods', vpc: 'main', az: 'us-west-2a', cidr: '100.64.0.0/19' },
    { name: 'p', vpc: 'peer', az: 'us-west-2a', cidr: '10.1.0.0/24' },
  ],
  securityGroups: [
    { name: 'nodes', vpc: 'main', ingress: [{ protocol: 'tcp', ports: 22, cidr: '10.1.0.0/16' }, { sg: 'nodes' }] },
    { name: 'lb', vpc: 'main', egress: [{ protocol: 'tcp', ports: '30000-32767', sg: 'nodes' }] },
  ],
  networkAcls: [{
    name: 'strict', vpc: 'main', subnets: ['a'],
    ingress: [{ rule: 100, protocol: 'tcp', ports: 7007, cidr: '10.1.0.0/16', action: 'deny' }, { rule: 200, cidr: '0.0.0.0/0', action: 'allow' }],
    egress: [{ rule: 100, cidr: '0.0.0.0/0', action: 'allow' }],
  }],
  transitGateways: [{ name: 'hub', attachments: [{ vpc: 'main', subnets: ['a'] }, { vpc: 'peer', subnets: ['p'] }] }],
  virtualPrivateGateways: [{ name: 'dx', vpc: 'main' }],
  onPremises: [{ name: 'dc', cidr: '192.168.0.0/16', via: { vgw: 'dx' } }, { name: 'branch', cidr: '172.20.0.0/16', via: { tgw: 'hub' } }],
  routeTables: [{ name: 'rt', vpc: 'main', subnets: ['a'], routes: [{ destination: '10.1.0.0/16', tgw: 'hub' }, { destination: '192.168.0.0/16', vgw: 'dx' }] }],
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

test('the fabric sections parse as written, with EC2 defaults where they are left out', () => {
  const t = parseTopology(base());
  assert.deepEqual(t.vpcs[0]!.secondaryCidrs, ['100.64.0.0/16']);
  assert.deepEqual(t.vpcs[1]!.secondaryCidrs, []);
  assert.deepEqual(t.securityGroups[0]!.ingress[1], { protocol: '-1', sg: 'nodes' });
  assert.equal(t.securityGroups[0]!.egress, undefined, 'no egress listed: EC2\'s allow-all egress stays');
  assert.equal(t.networkAcls[0]!.ingress[1]!.protocol, '-1');
  assert.equal(t.transitGateways[0]!.routes, undefined, 'no routes listed: the attachments\' CIDRs are propagated');
  assert.deepEqual(t.onPremises[1]!.via, { tgw: 'hub' });
});

test('a security-group rule names exactly one peer, and protocol all takes no ports', () => {
  const both = base();
  both.securityGroups[0]!.ingress[0] = { protocol: 'tcp', ports: 22, cidr: '10.1.0.0/16', sg: 'nodes' } as never;
  assert.match(refusal(both), /exactly one peer: cidr or sg/);
  const ports = base();
  ports.securityGroups[0]!.ingress[1] = { sg: 'nodes', ports: 80 } as never;
  assert.match(refusal(ports), /securityGroups\[0\]\.ingress\[1\]\.ports.*protocol all/);
});

test('names that are not declared, or in another VPC, are refused with their field path', () => {
  const doc = base();
  doc.securityGroups[1]!.egress![0]!.sg = 'web';
  doc.networkAcls[0]!.subnets.push('p');
  doc.transitGateways[0]!.routes = [{ destination: '10.9.0.0/16', attachment: 'other' }] as never;
  doc.onPremises[0]!.via = { vgw: 'vpn' };
  doc.routeTables[0]!.routes.push({ destination: '10.2.0.0/16', tgw: 'spoke' } as never);
  const message = refusal(doc);
  assert.match(message, /securityGroups\[1\]\.egress\[0\]\.sg: no security group named 'web'/);
  assert.match(message, /networkAcls\[0\]\.subnets\[1\]: 'p' is in VPC 'peer', not 'main'/);
  assert.match(message, /transitGateways\[0\]\.routes\[0\]\.attachment: 'other' is not a VPC attached to 'hub'/);
  assert.match(message, /onPremises\[0\]\.via\.vgw: no virtual private gateway named 'vpn'/);
  assert.match(message, /routeTables\[0\]\.routes\[2\]\.tgw: no transit gateway named 'spoke'/);
});

test('a group reference across VPCs, a subnet in two ACLs, a reused rule number and two gateways on one VPC are refused', () => {
  const doc = base();
  doc.securityGroups.push({ name: 'peer-hosts', vpc: 'peer', ingress: [{ sg: 'nodes' }] } as never);
  doc.networkAcls.push({ name: 'other', vpc: 'main', subnets: ['a'], ingress: [], egress: [] } as never);
  doc.networkAcls[0]!.egress.push({ rule: 100, cidr: '10.0.0.0/8', action: 'deny' } as never);
  doc.virtualPrivateGateways.push({ name: 'dx2', vpc: 'main' });
  const message = refusal(doc);
  assert.match(message, /securityGroups\[2\]\.ingress\[0\]\.sg: 'nodes' is in VPC 'main', not 'peer'/);
  assert.match(message, /networkAcls\[1\]\.subnets\[0\]: 'a' is already associated with networkAcls\[0\]/);
  assert.match(message, /networkAcls\[0\]\.egress\[1\]\.rule: 100 is used twice/);
  assert.match(message, /virtualPrivateGateways\[1\]\.vpc: 'main' already has a virtual private gateway/);
});

test('rule numbers outside 1..32766 and a route with two targets are refused', () => {
  const doc = base();
  doc.networkAcls[0]!.ingress[0]!.rule = 32767;
  assert.match(refusal(doc), /networkAcls\.0\.ingress\.0\.rule|networkAcls\[0\]\.ingress\[0\]\.rule/);
  const two = base();
  two.routeTables[0]!.routes[0] = { destination: '10.1.0.0/16', tgw: 'hub', vgw: 'dx' } as never;
  assert.match(refusal(two), /exactly one target/);
});

// A hand-built World for the explain engine's tests: the default lab VPCs (public and private subnet, NAT gateway,
// peered VPC), a node in each subnet with a pod on its primary ENI and one on a secondary ENI, a plain instance in the
// peer VPC, an internet host, and a data-centre host behind the private subnet's virtual private gateway. Each test
// changes what it needs through `makeWorld`.
import type { AttachedEni, Endpoint, NodeSettings, NodeView, World } from '../../../src/explain/index.js';
import type { Filtering, SecurityGroupRule } from '../../../src/vpc/index.js';
import { defaultVpcFacts } from '../vpc/default-vpc.js';

export const defaultSettings: NodeSettings = {
  externalSnat: false, excludeSnatCidrs: [], randomizeSnat: 'prng', nodePortSupport: true, connmark: 0x80, externalServiceCidrs: [], vethPrefix: 'eni', enableIPv6: false, pre18Routing: false, disableTcpEarlyDemux: false, podEni: false, podSgEnforcingMode: 'strict',
};

const eni = (over: Partial<AttachedEni> & Pick<AttachedEni, 'eniId' | 'privateIps' | 'subnetId'>): AttachedEni => ({
  vpcId: 'vpc-main', ipv4Prefixes: [], publicIps: {}, instanceId: null, deviceIndex: null, ...over,
});

export interface WorldOptions {
  pub?: Partial<NodeSettings>;
  priv?: Partial<NodeSettings>;
  /** node-pub's primary address has a public IP (default true) */
  publicIp?: boolean;
  filtering?: Filtering;
  backend?: 'iptables' | 'nftables';
}

export function makeWorld(o: WorldOptions = {}): World {
  const node = (name: string, instanceId: string, settings: Partial<NodeSettings> | undefined): NodeView => ({
    name, instanceId, settings: { ...defaultSettings, ...settings }, connmarkBackend: o.backend ?? 'nftables', primaryInterface: 'eth0', randomFullySupported: true,
  });
  const endpoints: Endpoint[] = [
    { name: 'web', kind: 'pod', address: '10.0.0.11', node: 'node-pub' },
    { name: 'api', kind: 'pod', address: '10.0.0.21', node: 'node-pub' },
    { name: 'hostnet', kind: 'pod', address: '10.0.0.10', node: 'node-pub', hostNetwork: true },
    { name: 'node-pub', kind: 'node', address: '10.0.0.10' },
    { name: 'db', kind: 'pod', address: '10.0.16.11', node: 'node-priv' },
    { name: 'worker', kind: 'pod', address: '10.0.16.21', node: 'node-priv' },
    { name: 'node-priv', kind: 'node', address: '10.0.16.10' },
    { name: 'peer-host', kind: 'host', address: '10.1.0.10' },
    { name: 'internet-host', kind: 'internet', address: '198.51.100.10' },
    { name: 'dc-host', kind: 'on-premises', address: '192.168.1.10' },
    { name: 'dc-host-2', kind: 'on-premises', address: '192.168.2.20' },
  ];
  return {
    source: 'lab',
    model: {
      ...defaultVpcFacts,
      ...(o.filtering ? { filtering: o.filtering } : {}),
      onPremises: [{ name: 'dc', cidr: '192.168.0.0/16', via: { vgwId: 'vgw-1' } }],
      enis: [
        eni({ eniId: 'eni-pub0', subnetId: 'subnet-pub', privateIps: ['10.0.0.10', '10.0.0.11'], publicIps: o.publicIp === false ? {} : { '10.0.0.10': '203.0.113.10' }, instanceId: 'i-pub', deviceIndex: 0, groupIds: ['sg-nodes'] }),
        eni({ eniId: 'eni-pub1', subnetId: 'subnet-pub', privateIps: ['10.0.0.20', '10.0.0.21'], instanceId: 'i-pub', deviceIndex: 1, groupIds: ['sg-nodes'] }),
        eni({ eniId: 'eni-priv0', subnetId: 'subnet-priv', privateIps: ['10.0.16.10', '10.0.16.11'], instanceId: 'i-priv', deviceIndex: 0, groupIds: ['sg-nodes'] }),
        eni({ eniId: 'eni-priv1', subnetId: 'subnet-priv', privateIps: ['10.0.16.20', '10.0.16.21'], instanceId: 'i-priv', deviceIndex: 1, groupIds: ['sg-nodes'] }),
        eni({ eniId: 'eni-nat', subnetId: 'subnet-pub', privateIps: ['10.0.0.4'] }),
        eni({ eniId: 'eni-peer', vpcId: 'vpc-peer', subnetId: 'subnet-peer', privateIps: ['10.1.0.10'], instanceId: 'i-peer', deviceIndex: 0, groupIds: ['sg-peer'] }),
      ],
    },
    nodes: [node('node-pub', 'i-pub', o.pub), node('node-priv', 'i-priv', o.priv)],
    endpoints,
    instanceNames: { 'i-pub': 'node-pub', 'i-priv': 'node-priv', 'i-peer': 'peer-host' },
  };
}

const all = (peer: SecurityGroupRule['peer']): SecurityGroupRule => ({ protocol: 'all', peer });
const VPC = { cidr: '10.0.0.0/16' };
const sgpFiltering: Filtering = {
  securityGroups: [
    { id: 'sg-nodes', name: 'nodes', vpcId: 'vpc-main', ingress: [all({ groupId: 'sg-nodes' })], egress: [all({ cidr: '0.0.0.0/0' })] },
    { id: 'sg-accept', name: 'accept-pods', vpcId: 'vpc-main', ingress: [all({ groupId: 'sg-pod' })], egress: [all({ cidr: '0.0.0.0/0' })] },
    { id: 'sg-pod', name: 'pod-sg', vpcId: 'vpc-main', ingress: [all(VPC)], egress: [all(VPC)] },
    { id: 'sg-open', name: 'pod-open', vpcId: 'vpc-main', ingress: [all(VPC)], egress: [all({ cidr: '0.0.0.0/0' })] },
    { id: 'sg-db', name: 'db-sg', vpcId: 'vpc-main', ingress: [all({ groupId: 'sg-pod' })], egress: [all({ cidr: '0.0.0.0/0' })] },
  ],
  networkAcls: [],
};

const sgpEni = (over: Partial<AttachedEni> & Pick<AttachedEni, 'eniId' | 'privateIps'>): AttachedEni => ({
  vpcId: 'vpc-main', subnetId: 'subnet-priv', ipv4Prefixes: [], publicIps: {}, instanceId: null, deviceIndex: null, groupIds: ['sg-nodes'], ...over,
});

interface BranchNode {
  name: string;
  /** the addresses are `<base>0` (primary), `<base>1` (its plain pod), `<base>2` (the trunk), `<base>3` (the branch pod) */
  base: string;
  settings: Partial<NodeSettings>;
  subnetId?: string;
  branchGroups?: string[];
  publicIp?: string;
}

const branchNodes: BranchNode[] = [
  { name: 'strict-snat', base: '10.0.16.1', settings: {} },
  { name: 'strict-ext', base: '10.0.16.2', settings: { externalSnat: true } },
  { name: 'std-snat', base: '10.0.16.3', settings: { podSgEnforcingMode: 'standard' } },
  { name: 'std-ext', base: '10.0.16.4', settings: { podSgEnforcingMode: 'standard', externalSnat: true } },
  { name: 'pub', base: '10.0.0.1', settings: {}, subnetId: 'subnet-pub', branchGroups: ['sg-open'], publicIp: '203.0.113.10' },
];

/**
 * The SGP matrix scenario's shape (examples/lab-sgp.yaml): in private-a, nodes strict-snat, strict-ext (EXTERNALSNAT),
 * std-snat (standard), std-ext (standard + EXTERNALSNAT), each with ENABLE_POD_ENI, a trunk ENI (device 1), a branch
 * pod b-<node> (pod-sg, VLAN 1) and a plain pod p-<node>; `other` (plain, groups nodes + accept-pods) with p-other;
 * pub in public-a with a public IP, its branch pod in pod-open; host db (db-sg), internet host inet.
 */
export function makeSgpWorld(): World {
  const enis: AttachedEni[] = [sgpEni({ eniId: 'eni-nat', subnetId: 'subnet-pub', privateIps: ['10.0.0.4'] })];
  const nodes: NodeView[] = [];
  const endpoints: Endpoint[] = [];
  const instanceNames: Record<string, string> = {};
  const node = (name: string, settings: Partial<NodeSettings>): NodeView => ({
    name, instanceId: `i-${name}`, settings: { ...defaultSettings, podEni: true, ...settings }, connmarkBackend: 'nftables', primaryInterface: 'eth0', randomFullySupported: true,
  });
  for (const n of branchNodes) {
    const subnetId = n.subnetId ?? 'subnet-priv';
    const id = `i-${n.name}`;
    enis.push(
      sgpEni({ eniId: `eni-${n.name}`, subnetId, privateIps: [`${n.base}0`, `${n.base}1`], instanceId: id, deviceIndex: 0, ...(n.publicIp ? { publicIps: { [`${n.base}0`]: n.publicIp } } : {}) }),
      sgpEni({ eniId: `eni-${n.name}-trunk`, subnetId, privateIps: [`${n.base}2`], instanceId: id, deviceIndex: 1, interfaceType: 'trunk' }),
      // a branch: no instance of its own, delivered to its trunk's instance on VLAN 1
      sgpEni({ eniId: `eni-${n.name}-branch`, subnetId, privateIps: [`${n.base}3`], groupIds: n.branchGroups ?? ['sg-pod'], trunk: { trunkEniId: `eni-${n.name}-trunk`, vlanId: 1 }, interfaceType: 'branch' }),
    );
    nodes.push(node(n.name, n.settings));
    instanceNames[id] = n.name;
    endpoints.push(
      { name: n.name, kind: 'node', address: `${n.base}0` },
      { name: `b-${n.name}`, kind: 'pod', address: `${n.base}3`, node: n.name },
      { name: `p-${n.name}`, kind: 'pod', address: `${n.base}1`, node: n.name },
    );
  }
  // other: a plain node (no pod ENI) whose groups admit pod-sg; db: a host only pod-sg reaches
  enis.push(
    sgpEni({ eniId: 'eni-other', privateIps: ['10.0.16.50', '10.0.16.51'], instanceId: 'i-other', deviceIndex: 0, groupIds: ['sg-nodes', 'sg-accept'] }),
    sgpEni({ eniId: 'eni-db', privateIps: ['10.0.16.100'], instanceId: 'i-db', deviceIndex: 0, groupIds: ['sg-db'] }),
  );
  nodes.push({ ...node('other', {}), settings: { ...defaultSettings } });
  instanceNames['i-other'] = 'other';
  instanceNames['i-db'] = 'db';
  endpoints.push(
    { name: 'other', kind: 'node', address: '10.0.16.50' },
    { name: 'p-other', kind: 'pod', address: '10.0.16.51', node: 'other' },
    { name: 'db', kind: 'host', address: '10.0.16.100' },
    { name: 'inet', kind: 'internet', address: '198.51.100.10' },
  );
  return { source: 'lab', model: { ...defaultVpcFacts, filtering: sgpFiltering, onPremises: [], enis }, nodes, endpoints, instanceNames };
}

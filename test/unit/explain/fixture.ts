// A hand-built World for the explain engine's tests: the default lab VPCs (public and private subnet, NAT gateway,
// peered VPC), a node in each subnet with a pod on its primary ENI and one on a secondary ENI, a plain instance in the
// peer VPC, an internet host, and a data-centre host behind the private subnet's virtual private gateway. Each test
// changes what it needs through `makeWorld`.
import type { AttachedEni, Endpoint, NodeSettings, NodeView, World } from '../../../src/explain/index.js';
import type { Filtering } from '../../../src/vpc/index.js';
import { defaultVpcFacts } from '../vpc/default-vpc.js';

export const defaultSettings: NodeSettings = {
  externalSnat: false, excludeSnatCidrs: [], randomizeSnat: 'prng', nodePortSupport: true, connmark: 0x80, externalServiceCidrs: [], vethPrefix: 'eni', enableIPv6: false, pre18Routing: false, podEni: false, podSgEnforcingMode: 'strict',
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

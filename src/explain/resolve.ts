/** What FROM and TO name: an endpoint of the world by name, or an address and what holds it. */
import { nearestNames, PodnetError } from '../lib/index.js';
import { cidrContains, isAddressText, parseAddress, parseCidr } from '../net/index.js';
import { eniHolding, onPremisesHolding, publicAddresses, vpcContaining } from '../vpc/index.js';
import type { Endpoint, World } from './world.js';

/** Address space that is never the internet: private, shared (CGNAT), link-local, loopback. */
const NOT_INTERNET = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '127.0.0.0/8', '0.0.0.0/8'].map((c) => parseCidr(c));

/** Whether the internet routes `address`: not private, shared, link-local or loopback space. */
export function isInternetAddress(address: string): boolean {
  const a = parseAddress(address);
  return !NOT_INTERNET.some((c) => cidrContains(c, a));
}

/** Endpoints sharing an address (a node and its hostNetwork pods): the pod first, then the node, a host, a hostNetwork pod. */
function rank(e: Endpoint): number {
  if (e.kind === 'pod') return e.hostNetwork ? 3 : 0;
  return e.kind === 'node' ? 1 : 2;
}

/**
 * An endpoint by name, or by address: an address an endpoint has (that endpoint), a VPC address an ENI holds, a public
 * IP of the model (the endpoint behind it, reached at the public IP), an on-premises address, or an internet address.
 */
export function resolveEndpoint(world: World, nameOrAddress: string): Endpoint {
  const named = world.endpoints.find((e) => e.name === nameOrAddress);
  if (named) return named;
  // a cluster endpoint by its DNS name: as the sender's DNS answers it
  const clusters = world.model.eksClusters ?? [];
  const byHostname = clusters.find((c) => c.hostname === nameOrAddress.toLowerCase() || c.hostname === nameOrAddress);
  if (byHostname) {
    const endpoint = world.endpoints.find((e) => e.kind === 'cluster-endpoint' && e.cluster === byHostname.name);
    if (endpoint) return endpoint;
  }
  if (!isAddressText(nameOrAddress)) {
    const near = nearestNames(nameOrAddress, world.endpoints.map((e) => e.name));
    throw new PodnetError(
      'USAGE',
      `no endpoint named ${nameOrAddress}`,
      near.length > 0 ? `did you mean ${near.join(', ')}? (or give an address)` : `endpoints: ${world.endpoints.slice(0, 8).map((e) => e.name).join(', ')}${world.endpoints.length > 8 ? ', …' : ''} (or give an address)`,
    );
  }
  const address = nameOrAddress;
  if (parseAddress(address).family !== 4) throw new PodnetError('USAGE', `${address} is an IPv6 address: explain follows IPv4 only`, 'give an IPv4 address or an endpoint name');
  const holders = world.endpoints.filter((e) => e.address === address).sort((a, b) => rank(a) - rank(b));
  if (holders[0]) return holders[0];
  const model = world.model;
  // a cluster's addresses given as such: that address, whatever DNS would answer
  const privateOf = clusters.find((c) => c.enis.some((x) => x.privateIp === address));
  if (privateOf) return { name: `${address} (private endpoint of cluster ${privateOf.name})`, kind: 'cluster-endpoint', address };
  const publicOf = clusters.find((c) => c.publicAddress === address);
  if (publicOf) return { name: `${address} (public endpoint of cluster ${publicOf.name})`, kind: 'cluster-endpoint', address };
  const eni = eniHolding(model.enis, address);
  if (eni) {
    const node = world.nodes.find((n) => n.instanceId === eni.instanceId);
    const name = `${address} (address on ${eni.eniId})`;
    if (node) return eni.privateIps[0] === address ? { name, kind: 'node', address, node: node.name } : { name, kind: 'pod', address, node: node.name };
    return { name, kind: 'host', address };
  }
  const vpc = vpcContaining(model, address);
  if (vpc) throw new PodnetError('USAGE', `${address} is in ${vpc.id} (${vpc.name}) but no network interface holds it`, 'give the address of a pod, node or instance, or an endpoint name');
  for (const v of model.vpcs) {
    const pair = publicAddresses(model, v.id).find(([, pub]) => pub === address);
    if (!pair) continue;
    const behind = resolveEndpoint(world, pair[0]);
    return { ...behind, name: `${address} (public IP of ${behind.name})`, address };
  }
  const network = onPremisesHolding(model, address);
  if (network) return { name: address, kind: 'on-premises', address };
  if (!isInternetAddress(address)) {
    const known = [...model.vpcs.map((v) => `${v.name} ${v.cidr}`), ...(model.onPremises ?? []).map((n) => `on-premises ${n.name} ${n.cidr}`)];
    throw new PodnetError('USAGE', `${address} is a private address in no known network`, `the networks explain knows: ${known.join(', ')}`);
  }
  return { name: address, kind: 'internet', address };
}

/**
 * EC2's private DNS names (IP-name form): `ip-10-0-16-4.<region>.compute.internal`, except in us-east-1, whose
 * names end in `ec2.internal`. EKS names a node's Node object with it, so the lab's nodes carry the same names.
 */
export function privateDnsName(ipv4: string, region: string): string {
  const domain = region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`;
  return `ip-${ipv4.split('.').join('-')}.${domain}`;
}

/**
 * Where new ENIs go (and with which security groups): the ENIConfig's subnet with custom networking (spec §5.1),
 * the best discovered subnet with ENABLE_SUBNET_DISCOVERY (§5.5), or the node's own subnet.
 */
import type { Cloud, NodeIdentity } from '../ipam/index.js';
import type { PodnetConfig } from '../config/index.js';
import { PodnetError } from '../lib/index.js';
import { selectEniConfig, type EniConfigFile } from './eni-config.js';
import { describeError, type Log } from './log.js';
import { rankEniSubnets, type SubnetFacts } from './subnets.js';

/** The part of the executor's node identity that says where new ENIs go; {@link EniSubnetChoice.choose} changes it. */
export type EniPlacement = { -readonly [K in 'subnetId' | 'subnetCidr' | 'securityGroupIds']: NodeIdentity[K] };

export interface EniSubnetChoiceOptions {
  config: PodnetConfig;
  cloud: Cloud;
  /** The Node and ENIConfigs now (the file, or the API server's as last seen). */
  eniConfigFile: () => EniConfigFile | undefined;
  log: Log;
  vpcId: string;
  availabilityZone: string;
  /** The primary ENI's subnet: a candidate unless tagged out (§5.5). */
  nodeSubnetId: string;
}

export class EniSubnetChoice {
  private subnets = new Map<string, SubnetFacts>();

  constructor(private readonly o: EniSubnetChoiceOptions) {}

  /** A subnet of this VPC and AZ as DescribeSubnets last told it. */
  subnet(id: string): SubnetFacts | undefined {
    return this.subnets.get(id);
  }

  /** DescribeSubnets of this VPC and AZ (§5.5): for excluded ENIs and the subnet of new ENIs. */
  async refresh(): Promise<void> {
    try {
      const found = await this.o.cloud.findSubnets(this.o.vpcId, this.o.availabilityZone);
      this.subnets = new Map(found.map((s) => [s.id, { id: s.id, cidr: s.cidr, availabilityZone: s.availabilityZone, availableIps: s.availableIpv4s, tags: { ...s.tags } }]));
    } catch (err) {
      // upstream falls back to the node's subnet when DescribeSubnets fails (§5.5)
      this.o.log('warn', `DescribeSubnets failed, new ENIs go to the node's subnet: ${describeError(err)}`);
    }
  }

  /**
   * Points `placement` at the subnet new ENIs go to. With discovery, `refresh` first asks EC2 again (after a
   * create-eni found the subnet full); at node init the subnets were just read.
   */
  async choose(placement: EniPlacement, opts: { refresh: boolean }): Promise<void> {
    const { config, log } = this.o;
    if (config.customNetworkCfg) return this.chooseEniConfig(placement);
    if (!config.enableSubnetDiscovery) return;
    if (opts.refresh) await this.refresh();
    const best = rankEniSubnets([...this.subnets.values()], this.o.nodeSubnetId, config.clusterName)[0];
    if (best && best.id !== placement.subnetId) {
      log('info', `new ENIs go to ${best.id} (${best.cidr}, ${best.availableIps} free addresses)`);
      placement.subnetId = best.id;
      placement.subnetCidr = best.cidr;
    }
  }

  /** The ENIConfig this node selects (§5.1): its subnet, which must be in the node's AZ, and its security groups. */
  private async chooseEniConfig(placement: EniPlacement): Promise<void> {
    const { config, availabilityZone } = this.o;
    const eniConfigFile = this.o.eniConfigFile();
    if (!eniConfigFile) {
      throw new PodnetError('CONFIG_INVALID', 'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true but no ENIConfig file is given',
        'set PODNET_ENI_CONFIG_FILE to a YAML file with the ENIConfigs and this node\'s labels/annotations');
    }
    const chosen = selectEniConfig(eniConfigFile, { annotation: config.eniConfigAnnotationDef, label: config.eniConfigLabelDef });
    const subnet = (await this.o.cloud.describeSubnets([chosen.subnet]))[0];
    if (subnet?.availabilityZone && subnet.availabilityZone !== availabilityZone) {
      throw new PodnetError('CONFIG_INVALID', `ENIConfig ${chosen.name} names ${chosen.subnet} in ${subnet.availabilityZone}, but this node is in ${availabilityZone}`,
        'an ENIConfig subnet must be in the node\'s AZ; name ENIConfigs after AZs and set ENI_CONFIG_LABEL_DEF=topology.kubernetes.io/zone');
    }
    placement.subnetId = chosen.subnet;
    placement.subnetCidr = subnet?.cidr ?? '';
    if (chosen.securityGroups.length > 0) placement.securityGroupIds = [...chosen.securityGroups].sort();
    else this.o.log('warn', `ENIConfig ${chosen.name} has no security groups; new ENIs get the primary ENI's`);
  }
}

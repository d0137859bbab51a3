/**
 * Leaked-ENI garbage collection (cleanUpLeakedENIs, spec §7.5): ENIs that ipamd created and that ended up
 * detached (node gone, attach rolled back half-way) are deleted once they have been seen detached for 5 minutes.
 */
import { CLUSTER_NAME_TAG, CREATED_AT_TAG, ENI_DESCRIPTION_PREFIX, INSTANCE_ID_TAG, cloudErrorCode, rfc3339, type Cloud, type EniFilters } from '../ipam/index.js';

export interface LeakedEniReport {
  deleted: string[];
  /** Found without a createdAt tag: tagged now, deleted on a later run. */
  tagged: string[];
  /** Younger than the minimum age (upstream 5 min): may still be on its way to being attached. */
  young: string[];
  failed: { eniId: string; code: string }[];
}

/** The filters of upstream's getLeakedENIs: podnet/aws-node tagged, detached, this VPC, this cluster if named. */
function leakedEniFilters(vpcId: string, clusterName: string): EniFilters {
  return {
    tagKeys: [INSTANCE_ID_TAG],
    status: 'available',
    vpcId,
    ...(clusterName ? { tags: { [CLUSTER_NAME_TAG]: clusterName } } : {}),
  };
}

export async function cleanUpLeakedEnis(cloud: Cloud, opts: { vpcId: string; clusterName: string; nowMs: number; minAgeMs: number }): Promise<LeakedEniReport> {
  const report: LeakedEniReport = { deleted: [], tagged: [], young: [], failed: [] };
  for (const eni of await cloud.findEnis(leakedEniFilters(opts.vpcId, opts.clusterName))) {
    const id = eni.id;
    if (!eni.description.startsWith(ENI_DESCRIPTION_PREFIX)) continue;
    const createdAt = eni.tags[CREATED_AT_TAG];
    const createdMs = createdAt === undefined ? NaN : Date.parse(createdAt);
    try {
      if (Number.isNaN(createdMs)) {
        await cloud.createTags([id], { [CREATED_AT_TAG]: rfc3339(opts.nowMs) });
        report.tagged.push(id);
      } else if (opts.nowMs - createdMs < opts.minAgeMs) {
        report.young.push(id);
      } else {
        await cloud.deleteEni(id);
        report.deleted.push(id);
      }
    } catch (err) {
      const code = cloudErrorCode(err);
      if (code === 'InvalidNetworkInterfaceID.NotFound') report.deleted.push(id); // someone else deleted it: done
      else report.failed.push({ eniId: id, code });
    }
  }
  return report;
}

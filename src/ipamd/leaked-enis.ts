/**
 * Leaked-ENI garbage collection (cleanUpLeakedENIs, spec §7.5): ENIs that ipamd created and that ended up
 * detached (node gone, attach rolled back half-way) are deleted once they have been seen detached for 5 minutes.
 */
import { CLUSTER_NAME_TAG, CREATED_AT_TAG, ENI_DESCRIPTION_PREFIX, INSTANCE_ID_TAG, rfc3339 } from '../ipam/index.js';
import { CreateTagsCommand, DeleteNetworkInterfaceCommand, paginateDescribeNetworkInterfaces, type EC2Client, type Filter } from '@aws-sdk/client-ec2';
import { ec2ErrorCode } from './cloud.js';

export interface LeakedEniReport {
  deleted: string[];
  /** Found without a createdAt tag: tagged now, deleted on a later run. */
  tagged: string[];
  /** Younger than the minimum age (upstream 5 min): may still be on its way to being attached. */
  young: string[];
  failed: { eniId: string; code: string }[];
}

/** The filters of upstream's getLeakedENIs: podnet/aws-node tagged, detached, this VPC, this cluster if named. */
function leakedEniFilters(vpcId: string, clusterName: string): Filter[] {
  return [
    { Name: 'tag-key', Values: [INSTANCE_ID_TAG] },
    { Name: 'status', Values: ['available'] },
    { Name: 'vpc-id', Values: [vpcId] },
    ...(clusterName ? [{ Name: `tag:${CLUSTER_NAME_TAG}`, Values: [clusterName] }] : []),
  ];
}

export async function cleanUpLeakedEnis(ec2: EC2Client, opts: { vpcId: string; clusterName: string; nowMs: number; minAgeMs: number }): Promise<LeakedEniReport> {
  const report: LeakedEniReport = { deleted: [], tagged: [], young: [], failed: [] };
  const pages = paginateDescribeNetworkInterfaces({ client: ec2, pageSize: 1000 }, { Filters: leakedEniFilters(opts.vpcId, opts.clusterName) });
  for await (const page of pages) {
    for (const eni of page.NetworkInterfaces ?? []) {
      const id = eni.NetworkInterfaceId;
      if (!id || !(eni.Description ?? '').startsWith(ENI_DESCRIPTION_PREFIX)) continue;
      const createdAt = eni.TagSet?.find((t) => t.Key === CREATED_AT_TAG)?.Value;
      const createdMs = createdAt === undefined ? NaN : Date.parse(createdAt);
      try {
        if (Number.isNaN(createdMs)) {
          await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: CREATED_AT_TAG, Value: rfc3339(opts.nowMs) }] }));
          report.tagged.push(id);
        } else if (opts.nowMs - createdMs < opts.minAgeMs) {
          report.young.push(id);
        } else {
          await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id }));
          report.deleted.push(id);
        }
      } catch (err) {
        const code = ec2ErrorCode(err);
        if (code === 'InvalidNetworkInterfaceID.NotFound') report.deleted.push(id); // someone else deleted it: done
        else report.failed.push({ eniId: id, code });
      }
    }
  }
  return report;
}

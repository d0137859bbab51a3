/**
 * Spec §4.17: the worked examples of upstream's docs/eni-and-ip-target.md and docs/prefix-and-ip-target.md, run
 * through `simulatePool` (real pool manager + executor, in-process EC2 emulator, fake clock). Per-ENI lists are in
 * ENI creation order (the docs' "2,3" is [3, 2]). Two rows carry the corrections §4.17 notes: t3.small
 * W_IP=7/MIN=20 with 0 pods has 2 prefixes / 32 unused IPs, and the p3dn prefix rows all stay on 1 ENI.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulatedNode } from '../../../src/ec2/index.js';
import { simulatePool, type StartSimulatedCloud } from '../../../src/ipam/index.js';

const startCloud: StartSimulatedCloud = startSimulatedNode;

type Row = [type: string, warmEni: number | '-', warmIp: number | '-', minIp: number | '-', pods: number, enis: number, ips: number, unused: number, perEni: number[]];

function env(vars: Record<string, number | '-'>): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== '-').map(([k, v]) => [k, String(v)]));
}

describe('§4.17 secondary IPs (docs/eni-and-ip-target.md)', () => {
  const table: Row[] = [
    // type         WARM_ENI WARM_IP MIN_IP pods ENIs IPs unused IPs per ENI
    ['t3.small',      1,      '-',   '-',    0,   1,   3,   3,   [3]],
    ['t3.small',      1,      '-',   '-',    5,   3,   9,   4,   [3, 3, 3]],
    ['t3.small',      1,      '-',   '-',    9,   3,   9,   0,   [3, 3, 3]],
    ['t3.small',     '-',      1,     1,     0,   1,   1,   1,   [1]],
    ['t3.small',     '-',      1,     1,     5,   2,   6,   1,   [3, 3]],
    ['t3.small',     '-',      1,     1,     9,   3,   9,   0,   [3, 3, 3]],
    ['t3.small',     '-',      2,     5,     0,   2,   5,   5,   [3, 2]],
    ['t3.small',     '-',      2,     5,     5,   3,   7,   2,   [3, 3, 1]],
    ['t3.small',     '-',      2,     5,     9,   3,   9,   0,   [3, 3, 3]],
    ['p3dn.24xlarge', 1,      '-',   '-',    0,   1,  49,  49,   [49]],
    ['p3dn.24xlarge', 1,      '-',   '-',    3,   2,  98,  95,   [49, 49]],
    ['p3dn.24xlarge', 1,      '-',   '-',   95,   3, 147,  52,   [49, 49, 49]],
    ['p3dn.24xlarge','-',      5,    10,     0,   1,  10,  10,   [10]],
    ['p3dn.24xlarge','-',      5,    10,     7,   1,  12,   5,   [12]],
    ['p3dn.24xlarge','-',      5,    10,    15,   1,  20,   5,   [20]],
    ['p3dn.24xlarge','-',      5,    10,    45,   2,  50,   5,   [49, 1]],
  ];
  for (const [type, warmEni, warmIp, minIp, pods, enis, ips, unused, perEni] of table) {
    test(`${type} WARM_ENI=${warmEni} WARM_IP=${warmIp} MIN_IP=${minIp}, ${pods} pods → ${enis} ENIs, ${ips} IPs (${perEni.join(',')}), ${unused} unused`, async () => {
      const { result } = await simulatePool({
        instanceType: type, pods, startCloud,
        env: env({ WARM_ENI_TARGET: warmEni, WARM_IP_TARGET: warmIp, MINIMUM_IP_TARGET: minIp }),
      });
      assert.deepEqual(
        { enis: result.enis, totalIps: result.totalIps, unusedIps: result.unusedIps, ipsPerEni: result.ipsPerEni, refusedPods: result.refusedPods },
        { enis, totalIps: ips, unusedIps: unused, ipsPerEni: perEni, refusedPods: 0 },
      );
    });
  }
});

type PdRow = [type: string, warmPrefix: number | '-', warmIp: number | '-', minIp: number | '-', pods: number, enis: number, prefixes: number, unusedPrefixes: number, perEni: number[], unusedIps: number];

describe('§4.17 prefix delegation (docs/prefix-and-ip-target.md), kubelet max pods 110', () => {
  // The docs assume the EKS max-pods calculator's 110 for these nodes; without it upstream caps t3.small at 11.
  const table: PdRow[] = [
    // type         WARM_PFX WARM_IP MIN_IP pods ENIs prefixes unused prefixes/ENI unused IPs
    ['t3.small',      1,      '-',   '-',    0,   1,   1,   1,   [1],     16],
    ['t3.small',      1,      '-',   '-',    5,   1,   2,   1,   [2],     27],
    ['t3.small',      1,      '-',   '-',   16,   1,   2,   1,   [2],     16],
    ['t3.small',      1,      '-',   '-',   17,   1,   3,   1,   [3],     31],
    ['t3.small',      1,      '-',   '-',   58,   2,   5,   1,   [3, 2],  22],
    ['t3.small',     '-',      1,     1,     0,   1,   1,   1,   [1],     16],
    ['t3.small',     '-',      1,     1,     5,   1,   1,   0,   [1],     11],
    ['t3.small',     '-',      1,     1,    17,   1,   2,   0,   [2],     15],
    ['t3.small',     '-',      1,     1,    58,   2,   4,   0,   [3, 1],   6],
    // corrected (§4.17): MINIMUM_IP_TARGET=20 needs ceil(20/16) = 2 prefixes, and both are kept
    ['t3.small',     '-',      7,    20,     0,   1,   2,   2,   [2],     32],
    ['t3.small',     '-',      7,    20,     5,   1,   2,   1,   [2],     27],
    ['t3.small',     '-',      7,    20,    17,   1,   2,   0,   [2],     15],
    ['t3.small',     '-',      7,    20,    58,   2,   5,   1,   [3, 2],  22],
    // corrected (§4.17): in prefix mode no ENI is created while the first can take a prefix
    ['p3dn.24xlarge', 1,      '-',   '-',    0,   1,   1,   1,   [1],     16],
    ['p3dn.24xlarge', 1,      '-',   '-',    3,   1,   2,   1,   [2],     29],
    ['p3dn.24xlarge', 1,      '-',   '-',   95,   1,   7,   1,   [7],     17],
    ['p3dn.24xlarge','-',      5,    10,     0,   1,   1,   1,   [1],     16],
    ['p3dn.24xlarge','-',      5,    10,     7,   1,   1,   0,   [1],      9],
    ['p3dn.24xlarge','-',      5,    10,    15,   1,   2,   1,   [2],     17],
    ['p3dn.24xlarge','-',      5,    10,    45,   1,   4,   1,   [4],     19],
  ];
  for (const [type, warmPrefix, warmIp, minIp, pods, enis, prefixes, unusedPrefixes, perEni, unusedIps] of table) {
    test(`${type} WARM_PREFIX=${warmPrefix} WARM_IP=${warmIp} MIN_IP=${minIp}, ${pods} pods → ${enis} ENI(s), prefixes ${perEni.join(',')}, ${unusedIps} unused IPs`, async () => {
      const { result } = await simulatePool({
        instanceType: type, pods, startCloud, maxPods: 110,
        env: { ENABLE_PREFIX_DELEGATION: 'true', ...env({ WARM_PREFIX_TARGET: warmPrefix, WARM_IP_TARGET: warmIp, MINIMUM_IP_TARGET: minIp }) },
      });
      assert.deepEqual(
        { enis: result.enis, prefixes: result.prefixesPerEni?.reduce((a, b) => a + b, 0), prefixesPerEni: result.prefixesPerEni, unusedIps: result.unusedIps, refusedPods: result.refusedPods },
        { enis, prefixes, prefixesPerEni: perEni, unusedIps, refusedPods: 0 },
      );
      assert.deepEqual(result.ipsPerEni, perEni.map((p) => p * 16));
      // pods fill prefixes in order, so at most one prefix is partly used and the rest of the unused IPs are whole prefixes
      assert.equal(Math.floor(result.unusedIps / 16), unusedPrefixes);
    });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podnet } from '../../run-podnet.js';

test('pool simulate --json keeps the earlier fields first and adds the documented answers', () => {
  const r = podnet(['pool', 'simulate', 't3.small', '--pods', '12', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out), ['enis', 'ipsPerEni', 'totalIps', 'unusedIps', 'refusedPods', 'ec2Calls',
    'os', 'maxPods', 'settled', 'oscillations', 'refusals', 'warnings', 'notes']);
  assert.deepEqual([out.enis, out.ipsPerEni, out.totalIps, out.unusedIps, out.refusedPods], [3, [3, 3, 3], 9, 0, 3]);
  assert.equal(out.ec2Calls.CreateNetworkInterface, 2);
  assert.deepEqual([out.os, out.maxPods, out.settled, out.oscillations], ['linux', 11, true, []]);
  assert.deepEqual(out.refusals.map((x: { reason: string; pods: number }) => [x.reason, x.pods]), [['eni-limit', 3]]);
});

test('issue 11 item 6: pool simulate c5.2xlarge --pods 14 WARM_ENI_TARGET=0 reports the 67 s cycle instead of failing', () => {
  const r = podnet(['pool', 'simulate', 'c5.2xlarge', '--pods', '14', '--env', 'WARM_ENI_TARGET=0']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^oscillates at 14 pod\(s\): every 67 s the pool goes from 1 to 2 ENI\(s\) and back, with 7 EC2 calls per cycle, 5 of them mutating \(AttachNetworkInterface 1, CreateNetworkInterface 1, DeleteNetworkInterface 1, DescribeInstances 1, DescribeNetworkInterfaces 1, DetachNetworkInterface 1, ModifyNetworkInterfaceAttribute 1\); for 7 s of each cycle no address is free/m);
  assert.match(r.stdout, /the pool still oscillates after pod 14; shown while the extra ENI is attached/);
});

test('issue 11 item 6: a run past the cycle (c5.2xlarge, 15 pods, WARM_ENI_TARGET=0) says the pods after it were added while the extra ENI was attached', () => {
  const r = podnet(['pool', 'simulate', 'c5.2xlarge', '--pods', '15', '--env', 'WARM_ENI_TARGET=0']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^the pool settled after pod 15; pods after a cycle were added while the extra ENI was attached$/m);
});

test('pool simulate explains refusals, flags MINIMUM_IP_TARGET and answers --nodes in text', () => {
  const r = podnet(['pool', 'simulate', 't3.small', '--pods', '12', '--env', 'MINIMUM_IP_TARGET=20', '--env', 'WARM_IP_TARGET=1', '--nodes', '10']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^  refused \(eni-limit\): 3 pod\(s\) from pod 10: /m);
  assert.match(r.stdout, /^10 node\(s\): 10 × \(9 pod addresses \+ 3 ENI primary address\(es\)\) = 120 addresses \(12 per node\); smallest subnet: \/25 \(123 usable after the 5 AWS reserves\)/m);
  assert.match(r.stdout, /one simulation times N/);
  assert.match(r.stderr, /^warning: MINIMUM_IP_TARGET=20 is above the 9 pod addresses t3\.small can hold/m);
});

test('pool simulate --os windows: one ENI; ENABLE_POD_ENI is a usage error (exit 2)', () => {
  const ok = podnet(['pool', 'simulate', 'm5.large', '--pods', '3', '--os', 'windows']);
  assert.equal(ok.status, 0, ok.stderr);
  // the VPC resource controller's defaults: 3 pods + warm-ip-target 3 = 6 addresses
  assert.match(ok.stdout, /^m5\.large, 3 pods, VPC resource controller, Windows: warm-ip-target=3, minimum-ip-target=3 \(secondary IPs, max pods 9\)\n\nENI  pod IPs\n1    6\n/);
  const sgp = podnet(['pool', 'simulate', 'm5.large', '--pods', '3', '--os', 'windows', '--env', 'ENABLE_POD_ENI=true']);
  assert.equal(sgp.status, 2);
  assert.match(sgp.stderr, /^error: security groups for pods \(ENABLE_POD_ENI=true\) are not supported on Windows nodes\nhint: /);
});

test('pool simulate prints a table per ENI for people', () => {
  const r = podnet(['pool', 'simulate', 't3.small', '--pods', '58', '--env', 'ENABLE_PREFIX_DELEGATION=true', '--max-pods', '110']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^t3\.small, 58 pods, WARM_PREFIX_TARGET=1 \(prefix delegation, max pods 110\)\n\nENI  prefixes  pod IPs\n1    3         48\n2    2         32\n/);
  assert.match(r.stdout, /2 ENI\(s\), 80 pod IPs, 22 unused, 0 pod\(s\) refused/);
});

test('an --env value aws-node would not start with is a usage error naming the problem', () => {
  // upstream tolerates a junk WARM_IP_TARGET (issue 11 item 3), but not both address families off
  const r = podnet(['pool', 'simulate', 't3.small', '--pods', '1', '--env', 'ENABLE_IPv4=false']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: invalid --env settings: ENABLE_IPv4: /);
  assert.match(r.stderr, /\nhint: /);
});

test('an unknown --env name suggests the nearest settings', () => {
  const r = podnet(['pool', 'simulate', 't3.small', '--pods', '1', '--env', 'WARM_IP_TARGT=1']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /hint: did you mean WARM_IP_TARGET/);
});

test('an unknown instance type exits 2 with suggestions', () => {
  const r = podnet(['pool', 'simulate', 't3.smal', '--pods', '1']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /did you mean t3\.small/);
});

test('a MINIMUM_IP_TARGET above what the node holds gets one message: the capacity warning, without the config note that contradicts it (t3.small, 30 > 9)', () => {
  const r = podnet(['pool', 'simulate', 't3.small', '--pods', '20', '--env', 'MINIMUM_IP_TARGET=30']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^warning: MINIMUM_IP_TARGET=30 is above the 9 pod addresses t3\.small can hold .*the pool stops at 9/m);
  assert.doesNotMatch(r.stderr, /never grows past/);
  // without the capacity warning the config note stays
  const within = podnet(['pool', 'simulate', 't3.small', '--pods', '1', '--env', 'MINIMUM_IP_TARGET=5']);
  assert.match(within.stderr, /^note: MINIMUM_IP_TARGET: .*never grows past 5/m);
});

test('review 11 finding 1: --nodes beyond a /16 says how many /16 subnets (and CIDR blocks) instead of a larger prefix (m5.large, 30 pods, 3000 nodes: 2)', () => {
  const r = podnet(['pool', 'simulate', 'm5.large', '--pods', '30', '--nodes', '3000']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /= 90000 addresses \(30 per node\); no single subnet holds them: AWS subnets are \/16 to \/28, and a \/16 \(65531 usable after the 5 AWS reserves\) holds 2184 of these nodes, so 2 \/16 subnets are needed, each in a VPC CIDR block of its own/);
  assert.doesNotMatch(r.stdout, /\/1[0-5]\b/);
});

test('review 11 finding 2: pool simulate --os windows takes the controller\'s keys as --windows-* options and refuses aws-node\'s pool variables (exit 2, hint names the ConfigMap keys)', () => {
  const pd = podnet(['pool', 'simulate', 'm5.large', '--pods', '20', '--os', 'windows', '--windows-prefix-delegation', '--windows-minimum-ip-target', '40']);
  assert.equal(pd.status, 0, pd.stderr);
  // ⌈max(20 + 1, 40) / 16⌉ = 3 prefixes
  assert.match(pd.stdout, /^m5\.large, 20 pods, VPC resource controller, Windows: enable-windows-prefix-delegation=true, warm-ip-target=1, minimum-ip-target=40 \(prefix delegation, max pods 144\)\n\nENI  prefixes  pod IPs\n1    3         48\n/);
  const env = podnet(['pool', 'simulate', 'm5.large', '--pods', '3', '--os', 'windows', '--env', 'WARM_IP_TARGET=1']);
  assert.equal(env.status, 2);
  assert.match(env.stderr, /^error: WARM_IP_TARGET: aws-node's pool settings do not drive Windows nodes.*\nhint: the controller reads the amazon-vpc-cni ConfigMap: warm-ip-target, minimum-ip-target/);
});

// One test per validation rule of spec §1; the rule id is in each title.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, type Env } from '../../../src/config/index.js';

/** `severity rule VARIABLE` for every problem, so a test can name exactly what fired. */
function findings(env: Env): string[] {
  return loadConfig(env).problems.map((p) => `${p.severity} ${p.rule} ${p.variable}`);
}

const v6 = { ENABLE_IPv4: 'false', ENABLE_IPv6: 'true', ENABLE_PREFIX_DELEGATION: 'true' };
/** What every IPv6 configuration also gets: podnet does not implement IPv6 (nor IPv4 egress, on by default, in it: one error). */
const v6NotImplemented = ['error not-implemented ENABLE_IPv6'];

// --- entrypoint validateEnvVars ---

test('plugin-log-stdout: AWS_VPC_K8S_PLUGIN_LOG_FILE=stdout is an error; stderr and files are fine', () => {
  assert.deepEqual(findings({ AWS_VPC_K8S_PLUGIN_LOG_FILE: 'stdout' }), ['error plugin-log-stdout AWS_VPC_K8S_PLUGIN_LOG_FILE']);
  assert.deepEqual(findings({ AWS_VPC_K8S_PLUGIN_LOG_FILE: 'stderr' }), []);
});

test('veth-prefix-too-long: more than 4 characters is an error, 4 is fine', () => {
  assert.deepEqual(findings({ AWS_VPC_K8S_CNI_VETHPREFIX: 'abcde' }), ['error veth-prefix-too-long AWS_VPC_K8S_CNI_VETHPREFIX']);
  const { config, problems } = loadConfig({ AWS_VPC_K8S_CNI_VETHPREFIX: 'abcd' });
  assert.deepEqual(problems, []);
  assert.equal(config.vethPrefix, 'abcd');
});

test('veth-prefix-reserved: eth, lo and vlan are refused', () => {
  for (const prefix of ['eth', 'lo', 'vlan']) {
    assert.deepEqual(findings({ AWS_VPC_K8S_CNI_VETHPREFIX: prefix }), ['error veth-prefix-reserved AWS_VPC_K8S_CNI_VETHPREFIX'], prefix);
  }
});

test('veth-prefix-empty: an empty prefix is kept (ipamd uses LookupEnv) and warned about', () => {
  const { config, problems } = loadConfig({ AWS_VPC_K8S_CNI_VETHPREFIX: '' });
  assert.equal(config.vethPrefix, '');
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule}`), ['warning veth-prefix-empty']);
});

test('pod-eni-sg-mode: ENABLE_POD_ENI with a mode other than strict/standard is an error', () => {
  assert.deepEqual(findings({ ENABLE_POD_ENI: 'true', POD_SECURITY_GROUP_ENFORCING_MODE: 'loose' }), ['error pod-eni-sg-mode POD_SECURITY_GROUP_ENFORCING_MODE']);
  assert.deepEqual(findings({ ENABLE_POD_ENI: 'true', POD_SECURITY_GROUP_ENFORCING_MODE: 'standard' }), []);
});

test('unknown-value: an unknown SG mode without ENABLE_POD_ENI is a warning and ipamd uses strict', () => {
  const { config, problems } = loadConfig({ POD_SECURITY_GROUP_ENFORCING_MODE: 'Standard' });
  assert.equal(config.podSecurityGroupEnforcingMode, 'strict');
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule}`), ['warning unknown-value', 'warning ignored-setting']);
  assert.equal(problems[0]?.used, 'strict');
});

test('ip-cooldown-period: IP_COOLDOWN_PERIOD must be an integer ≥ 0; 0 is allowed', () => {
  assert.deepEqual(findings({ IP_COOLDOWN_PERIOD: '-1' }), ['error ip-cooldown-period IP_COOLDOWN_PERIOD']);
  assert.deepEqual(findings({ IP_COOLDOWN_PERIOD: '30s' }), ['error malformed-int IP_COOLDOWN_PERIOD']);
  assert.equal(loadConfig({ IP_COOLDOWN_PERIOD: '0' }).config.ipCooldownPeriodSeconds, 0);
  assert.equal(loadConfig({ IP_COOLDOWN_PERIOD: '30s' }).config.ipCooldownPeriodSeconds, 30);
});

test('mtu-out-of-range: IPv4 allows 576..9001 for AWS_VPC_ENI_MTU and POD_MTU', () => {
  assert.deepEqual(findings({ AWS_VPC_ENI_MTU: '576', POD_MTU: '9001' }), []);
  assert.deepEqual(findings({ AWS_VPC_ENI_MTU: '575' }), ['error mtu-out-of-range AWS_VPC_ENI_MTU']);
  assert.deepEqual(findings({ POD_MTU: '9002' }), ['error mtu-out-of-range POD_MTU']);
  assert.deepEqual(findings({ POD_MTU: 'jumbo' }), ['error malformed-int POD_MTU']);
});

test('mtu-out-of-range: IPv6 allows 1280..9001', () => {
  assert.deepEqual(findings({ ...v6, AWS_VPC_ENI_MTU: '1280' }), v6NotImplemented);
  assert.deepEqual(findings({ ...v6, AWS_VPC_ENI_MTU: '1279' }), ['error mtu-out-of-range AWS_VPC_ENI_MTU', ...v6NotImplemented]);
  assert.deepEqual(findings({ ...v6, POD_MTU: '1000' }), ['error mtu-out-of-range POD_MTU', ...v6NotImplemented]);
});

test('POD_MTU defaults to AWS_VPC_ENI_MTU', () => {
  const { config, settings } = loadConfig({ AWS_VPC_ENI_MTU: '1500' });
  assert.equal(config.podMtu, 1500);
  assert.ok(settings.find((s) => s.name === 'POD_MTU')?.notes.includes('from AWS_VPC_ENI_MTU'));
});

test('prefix-delegation-needs-target: PD with WARM_IP/WARM_PREFIX/MINIMUM_IP targets all <= "0" is an error', () => {
  assert.deepEqual(findings({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '0' }), ['error prefix-delegation-needs-target ENABLE_PREFIX_DELEGATION']);
  assert.deepEqual(findings({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '-1', WARM_IP_TARGET: '0' }).filter((f) => f.startsWith('error')), ['error prefix-delegation-needs-target ENABLE_PREFIX_DELEGATION']);
  // the manifest default WARM_PREFIX_TARGET=1 satisfies it, and so does any one target
  assert.deepEqual(findings({ ENABLE_PREFIX_DELEGATION: 'true' }), []);
  assert.deepEqual(findings({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '0', MINIMUM_IP_TARGET: '4', WARM_IP_TARGET: '2' }), []);
});

test('prefix-delegation-needs-target compares strings: "+5" is refused, "00" passes', () => {
  const plus = loadConfig({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '+5' });
  assert.equal(plus.config.warmPrefixTarget, 5);
  const refused = plus.problems.find((p) => p.rule === 'prefix-delegation-needs-target');
  assert.ok(refused);
  assert.match(refused.message, /leading \+ sorts before "0"/);
  // "00" passes the entrypoint but parses to 0: the prefix pool then oscillates (see warm-prefix-target-0-oscillates)
  assert.deepEqual(findings({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '00' }), ['warning warm-prefix-target-0-oscillates WARM_PREFIX_TARGET']);
});

// --- ipamd isConfigValid ---

test('ipv4-and-ipv6-both-on: ENABLE_IPv4 and ENABLE_IPv6 both true is an error', () => {
  assert.ok(findings({ ENABLE_IPv6: 'true', ENABLE_PREFIX_DELEGATION: 'true' }).includes('error ipv4-and-ipv6-both-on ENABLE_IPv6'));
});

test('ipv4-and-ipv6-both-off: both false is an error', () => {
  assert.deepEqual(findings({ ENABLE_IPv4: 'false' }), ['error ipv4-and-ipv6-both-off ENABLE_IPv4']);
});

test('ipv6-needs-prefix-delegation: IPv6 without PD is an error', () => {
  assert.deepEqual(findings({ ENABLE_IPv4: 'false', ENABLE_IPv6: 'true' }), ['error ipv6-needs-prefix-delegation ENABLE_IPv6', ...v6NotImplemented]);
  assert.deepEqual(findings(v6), v6NotImplemented);
});

test('ipv6-with-custom-networking: IPv6 with AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG is an error', () => {
  assert.deepEqual(findings({ ...v6, AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' }), ['error ipv6-with-custom-networking AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG', ...v6NotImplemented]);
});

test('network-policy-mode: NETWORK_POLICY_ENFORCING_MODE must be none, strict or standard (any case)', () => {
  assert.deepEqual(findings({ NETWORK_POLICY_ENFORCING_MODE: 'enforce' }), ['error network-policy-mode NETWORK_POLICY_ENFORCING_MODE']);
  assert.deepEqual(findings({ NETWORK_POLICY_ENFORCING_MODE: 'NONE' }), []);
  assert.equal(loadConfig({ NETWORK_POLICY_ENFORCING_MODE: 'NONE' }).config.networkPolicyEnforcingMode, 'none');
});

test('network-policy-not-enforced: strict or standard is accepted with a warning that podnet applies no policy', () => {
  const { config, problems } = loadConfig({ NETWORK_POLICY_ENFORCING_MODE: 'Strict' });
  assert.equal(config.networkPolicyEnforcingMode, 'strict');
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule}`), ['warning network-policy-not-enforced']);
});

// --- malformed values: upstream logs (or not) and runs with its code default, so they are warnings ---

test('malformed-bool: an unparsable boolean is a warning and yields the upstream code default', () => {
  const { config, problems } = loadConfig({ ENABLE_IPv4: 'yes' });
  assert.equal(config.enableIPv4, false); // code default, not the manifest's true: so ipamd then sees both families off
  // review 7: the both-off error says why ENABLE_IPv4 is false, so no separate malformed-bool warning repeats it
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule}`), ['error ipv4-and-ipv6-both-off']);
  assert.match(problems[0]!.message, /ENABLE_IPv4=yes is not a boolean, so ipamd uses its code default false/);
  assert.deepEqual(findings({ DISABLE_TCP_EARLY_DEMUX: 'yes' }), ['warning malformed-bool DISABLE_TCP_EARLY_DEMUX']);
  assert.equal(loadConfig({ DISABLE_TCP_EARLY_DEMUX: 'yes' }).problems[0]?.used, 'false');
  assert.equal(loadConfig({ AWS_VPC_CNI_NODE_PORT_SUPPORT: 'on' }).config.nodePortSupport, true);
  // a PODNET_* boolean is podnet's own: refused
  assert.deepEqual(findings({ PODNET_PRE_1_8_ROUTING: 'yes' }), ['error malformed-bool PODNET_PRE_1_8_ROUTING']);
});

test('malformed-int: an unparsable integer is a warning and yields upstream\'s fallback', () => {
  const { config, problems } = loadConfig({ WARM_ENI_TARGET: 'two', WARM_IP_TARGET: '1.5' });
  assert.equal(config.warmEniTarget, 1);
  assert.equal(config.warmIpTarget, 0);
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule} ${p.variable} ${p.used}`), ['warning malformed-int WARM_ENI_TARGET 1', 'warning malformed-int WARM_IP_TARGET 0']);
});

// --- silent fallbacks: warnings, with upstream's effective value ---

test('negative-target: negative WARM_ENI_TARGET gives 1; WARM_IP, MINIMUM_IP and WARM_PREFIX targets give 0', () => {
  const { config, problems } = loadConfig({ WARM_ENI_TARGET: '-1', WARM_IP_TARGET: '-2', MINIMUM_IP_TARGET: '-3', WARM_PREFIX_TARGET: '-4', ENABLE_PREFIX_DELEGATION: 'true' });
  assert.equal(config.warmEniTarget, 1);
  assert.equal(config.warmIpTarget, 0);
  assert.equal(config.minimumIpTarget, 0);
  assert.equal(config.warmPrefixTarget, 0);
  assert.deepEqual(problems.filter((p) => p.rule === 'negative-target').map((p) => `${p.severity} ${p.variable}`), [
    'warning WARM_ENI_TARGET', 'warning WARM_IP_TARGET', 'warning MINIMUM_IP_TARGET', 'warning WARM_PREFIX_TARGET',
  ]);
});

test('WARM_ENI_TARGET=0 is allowed (with the oscillation warning unless WARM_IP_TARGET or MINIMUM_IP_TARGET is set)', () => {
  const { config, problems } = loadConfig({ WARM_ENI_TARGET: '0' });
  assert.equal(config.warmEniTarget, 0);
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule}`), ['warning warm-eni-target-0-oscillates']);
});

test('max-eni-below-1: MAX_ENI values below 1 are ignored (no cap); -1 is the explicit "no cap"', () => {
  assert.equal(loadConfig({ MAX_ENI: '3' }).config.maxEni, 3);
  assert.deepEqual(findings({ MAX_ENI: '-1' }), []);
  const zero = loadConfig({ MAX_ENI: '0' });
  assert.equal(zero.config.maxEni, -1);
  assert.deepEqual(zero.problems.map((p) => `${p.severity} ${p.rule}`), ['warning max-eni-below-1']);
});

test('connmark-out-of-range: AWS_VPC_K8S_CNI_CONNMARK <= 0 or > 0xffffffff silently becomes 0x80', () => {
  assert.equal(loadConfig({ AWS_VPC_K8S_CNI_CONNMARK: '0x4000' }).config.connmark, 0x4000);
  assert.equal(loadConfig({ AWS_VPC_K8S_CNI_CONNMARK: '0o200' }).config.connmark, 0x80);
  for (const text of ['0', '-5', '0x100000000']) {
    const { config, problems } = loadConfig({ AWS_VPC_K8S_CNI_CONNMARK: text });
    assert.equal(config.connmark, 0x80, text);
    assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule}`), ['warning connmark-out-of-range'], text);
  }
  assert.deepEqual(findings({ AWS_VPC_K8S_CNI_CONNMARK: '0xffffffff' }), []);
});

test('malformed-connmark: text ParseInt refuses is a warning and gives 0x80', () => {
  const { config, problems } = loadConfig({ AWS_VPC_K8S_CNI_CONNMARK: 'mark' });
  assert.equal(config.connmark, 0x80);
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule} ${p.used}`), ['warning malformed-connmark 0x80']);
});

test('unknown-value: AWS_VPC_K8S_CNI_RANDOMIZESNAT other than prng/hashrandom/none gives prng', () => {
  assert.equal(loadConfig({ AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'hashrandom' }).config.randomizeSnat, 'hashrandom');
  assert.equal(loadConfig({ AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'none' }).config.randomizeSnat, 'none');
  const { config, problems } = loadConfig({ AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'random-fully' });
  assert.equal(config.randomizeSnat, 'prng');
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule}`), ['warning unknown-value']);
});

test('exclude-SNAT CIDRs are trimmed and normalised to the network address', () => {
  const { config, problems } = loadConfig({ AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: ' 10.1.2.3/8 , 192.168.0.0/16' });
  assert.deepEqual(config.excludeSnatCidrs, ['10.0.0.0/8', '192.168.0.0/16']);
  assert.deepEqual(problems, []);
});

test('invalid-cidr-item: invalid exclude-SNAT items are skipped and reported as warnings', () => {
  const { config, problems } = loadConfig({ AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '10.0.0.0/8,10.0.0.0,300.1.1.1/24' });
  assert.deepEqual(config.excludeSnatCidrs, ['10.0.0.0/8']);
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule}`), ['warning invalid-cidr-item', 'warning invalid-cidr-item']);
});

test('ipv6-cidr-item: IPv6 exclude-SNAT items are skipped with a warning', () => {
  const { config, problems } = loadConfig({ AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: 'fd00::/8,172.16.0.0/12' });
  assert.deepEqual(config.excludeSnatCidrs, ['172.16.0.0/12']);
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule}`), ['warning ipv6-cidr-item']);
});

test('AWS_EXTERNAL_SERVICE_CIDRS are parsed like the exclude list', () => {
  const { config, problems } = loadConfig({ AWS_EXTERNAL_SERVICE_CIDRS: '100.64.1.0/24,nope' });
  assert.deepEqual(config.externalServiceCidrs, ['100.64.1.0/24']);
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule}`), ['warning invalid-cidr-item']);
});

test('additional-eni-tags-json: ADDITIONAL_ENI_TAGS must be a JSON object of strings', () => {
  for (const text of ['team=net', '["a"]', '{"count":3}']) {
    const { config, problems } = loadConfig({ ADDITIONAL_ENI_TAGS: text });
    assert.deepEqual(config.additionalEniTags, {}, text);
    assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule}`), ['warning additional-eni-tags-json'], text);
  }
  assert.deepEqual(loadConfig({ ADDITIONAL_ENI_TAGS: '{"team":"net"}' }).config.additionalEniTags, { team: 'net' });
});

test('additional-eni-tags-reserved-key: keys containing k8s.amazonaws.com are dropped with a warning', () => {
  const { config, problems } = loadConfig({ ADDITIONAL_ENI_TAGS: '{"team":"net","node.k8s.amazonaws.com/x":"y"}' });
  assert.deepEqual(config.additionalEniTags, { team: 'net' });
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule}`), ['warning additional-eni-tags-reserved-key']);
});

test('http-timeout-below-10: HTTP_TIMEOUT below 10 is ignored', () => {
  assert.equal(loadConfig({ HTTP_TIMEOUT: '30' }).config.httpTimeoutSeconds, 30);
  const { config, problems } = loadConfig({ HTTP_TIMEOUT: '5' });
  assert.equal(config.httpTimeoutSeconds, 10);
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule}`), ['warning http-timeout-below-10']);
});

test('minimum-ip-target-without-warm-ip-target: MINIMUM_IP_TARGET alone stops the pool growing past it', () => {
  assert.deepEqual(findings({ MINIMUM_IP_TARGET: '10' }), ['warning minimum-ip-target-without-warm-ip-target MINIMUM_IP_TARGET']);
  assert.deepEqual(findings({ MINIMUM_IP_TARGET: '10', WARM_IP_TARGET: '2' }), []);
});

test('ignored-setting: a non-default value that has no effect with the other settings is a warning', () => {
  assert.deepEqual(findings({ WARM_ENI_TARGET: '3', WARM_IP_TARGET: '5' }), ['warning ignored-setting WARM_ENI_TARGET']);
  assert.deepEqual(findings({ WARM_PREFIX_TARGET: '4' }), ['warning ignored-setting WARM_PREFIX_TARGET']);
  assert.deepEqual(findings({ AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true', AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '10.0.0.0/8' }), ['warning ignored-setting AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS']);
  assert.deepEqual(findings({ ENI_CONFIG_LABEL_DEF: 'topology.kubernetes.io/zone' }), ['warning ignored-setting ENI_CONFIG_LABEL_DEF']);
  assert.deepEqual(findings({ ...v6, ENABLE_V6_EGRESS: 'true' }), [...v6NotImplemented, 'warning ignored-setting ENABLE_V6_EGRESS']);
  // the manifest's own values never warn
  assert.deepEqual(findings({ WARM_ENI_TARGET: '1', WARM_PREFIX_TARGET: '1', WARM_IP_TARGET: '5' }), []);
});

test('deprecated: AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER and ENABLE_NFTABLES are warned about, not flagged as typos', () => {
  const { problems, unknown } = loadConfig({ AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER: 'false', ENABLE_NFTABLES: 'true' });
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule} ${p.variable}`), ['warning deprecated AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER', 'warning deprecated ENABLE_NFTABLES']);
  assert.deepEqual(unknown, []);
});

test('ec2-endpoint-imds-only: AWS_EC2_ENDPOINT is kept, with a warning that upstream applies it to IMDS only', () => {
  const { config, problems } = loadConfig({ AWS_EC2_ENDPOINT: 'http://127.0.0.1:4566' });
  assert.equal(config.ec2Endpoint, 'http://127.0.0.1:4566');
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule}`), ['warning ec2-endpoint-imds-only']);
});

test('unknown-log-level: an unknown level is a warning (upstream logs at DEBUG)', () => {
  assert.deepEqual(findings({ AWS_VPC_K8S_CNI_LOGLEVEL: 'info' }), []);
  assert.deepEqual(findings({ AWS_VPC_K8S_PLUGIN_LOG_LEVEL: 'verbose' }), ['warning unknown-log-level AWS_VPC_K8S_PLUGIN_LOG_LEVEL']);
});

test('ENABLE_IMDS_ONLY_MODE implies no provisioning and no leaked-ENI cleanup', () => {
  const { config, settings } = loadConfig({ ENABLE_IMDS_ONLY_MODE: 'true' });
  assert.equal(config.disableNetworkResourceProvisioning, true);
  assert.equal(config.disableLeakedEniCleanup, true);
  assert.ok(settings.find((s) => s.name === 'DISABLE_NETWORK_RESOURCE_PROVISIONING')?.notes.includes('forced on by ENABLE_IMDS_ONLY_MODE'));
});

test('IPv6 and DISABLE_NETWORK_RESOURCE_PROVISIONING each turn leaked-ENI cleanup off', () => {
  assert.equal(loadConfig(v6).config.disableLeakedEniCleanup, true);
  assert.equal(loadConfig({ DISABLE_NETWORK_RESOURCE_PROVISIONING: 'true' }).config.disableLeakedEniCleanup, true);
  assert.equal(loadConfig({}).config.disableLeakedEniCleanup, false);
});

test('podnet-interval: PODNET_* timers must be whole numbers (≥ 1 for periods, ≥ 0 for waits)', () => {
  assert.equal(loadConfig({ PODNET_POOL_INTERVAL_MS: '50' }).config.poolIntervalMs, 50);
  assert.deepEqual(findings({ PODNET_POOL_INTERVAL_MS: '0' }), ['error podnet-interval PODNET_POOL_INTERVAL_MS']);
  assert.deepEqual(findings({ PODNET_ENI_MIN_AGE_MS: '0' }), []);
  assert.deepEqual(findings({ PODNET_DECREASE_INTERVAL_MS: 'fast' }), ['error malformed-int PODNET_DECREASE_INTERVAL_MS']);
});

test('an empty value is treated as unset where upstream gives it the default too (WARM_ENI_TARGET, ENI_CONFIG_ANNOTATION_DEF)', () => {
  const { config, problems, settings } = loadConfig({ WARM_ENI_TARGET: '', ENI_CONFIG_ANNOTATION_DEF: '', AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' });
  assert.equal(config.warmEniTarget, 1);
  assert.equal(config.eniConfigAnnotationDef, 'k8s.amazonaws.com/eniConfig');
  assert.deepEqual(problems, []);
  assert.equal(settings.find((s) => s.name === 'WARM_ENI_TARGET')?.source, 'default');
  assert.ok(settings.find((s) => s.name === 'ENI_CONFIG_ANNOTATION_DEF')?.notes.includes('set but empty: treated as unset'));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, variables } from '../../../src/config/index.js';

test('with nothing set, the defaults are the upstream manifest\'s (what EKS runs)', () => {
  const { config, problems, unknown } = loadConfig({});
  assert.deepEqual(problems, []);
  assert.deepEqual(unknown, []);
  assert.equal(config.enableIPv4, true);
  assert.equal(config.enableIPv6, false);
  assert.equal(config.warmEniTarget, 1);
  assert.equal(config.warmPrefixTarget, 1);
  assert.equal(config.warmIpTarget, 0);
  assert.equal(config.minimumIpTarget, 0);
  assert.equal(config.maxEni, -1);
  assert.equal(config.enablePrefixDelegation, false);
  assert.equal(config.externalSnat, false);
  assert.deepEqual(config.excludeSnatCidrs, []);
  assert.equal(config.randomizeSnat, 'prng');
  assert.equal(config.nodePortSupport, true);
  assert.equal(config.connmark, 0x80);
  assert.equal(config.vethPrefix, 'eni');
  assert.equal(config.eniMtu, 9001);
  assert.equal(config.podMtu, 9001);
  assert.equal(config.podSecurityGroupEnforcingMode, 'strict');
  assert.equal(config.ipCooldownPeriodSeconds, 30);
  assert.equal(config.enableSubnetDiscovery, true);
  assert.equal(config.enableV4Egress, true);
  assert.equal(config.enableV6Egress, false);
  assert.equal(config.manageUntaggedEni, true);
  assert.equal(config.httpTimeoutSeconds, 10);
  assert.deepEqual(config.additionalEniTags, {});
  assert.equal(config.backingStore, '/var/run/aws-node/ipam.json');
  assert.equal(config.introspectionBindAddress, '127.0.0.1:61679');
  assert.equal(config.pluginLogFile, '/var/log/aws-routed-eni/plugin.log');
});

test('network policy stays off: NETWORK_POLICY_ENFORCING_MODE defaults to "" although the manifest sets standard', () => {
  const { config, settings } = loadConfig({});
  assert.equal(config.networkPolicyEnforcingMode, '');
  const row = settings.find((s) => s.name === 'NETWORK_POLICY_ENFORCING_MODE');
  assert.equal(row?.manifestDefault, 'standard');
  assert.match(row?.notes.join(' ') ?? '', /manifest sets standard/);
});

test('settings name the upstream code default where the manifest differs (spec §9 item 6)', () => {
  const { settings } = loadConfig({});
  const differing = Object.fromEntries(settings.filter((s) => s.codeDefault !== undefined).map((s) => [s.name, [s.default, s.codeDefault]]));
  assert.deepEqual(differing, {
    ENABLE_IPv4: ['true', 'false'],
    WARM_PREFIX_TARGET: ['1', '0'],
    AWS_VPC_K8S_PLUGIN_LOG_LEVEL: ['DEBUG', 'Debug'],
  });
  assert.match(settings.find((s) => s.name === 'ENABLE_IPv4')?.notes.join(' ') ?? '', /upstream code default false/);
});

test('the PODNET_* settings have their documented defaults and are marked podnet-only', () => {
  const { config, settings } = loadConfig({});
  assert.equal(config.poolIntervalMs, 5000);
  assert.equal(config.decreaseIntervalMs, 30000);
  assert.equal(config.reconcileIntervalMs, 60000);
  assert.equal(config.eniMinAgeMs, 60000);
  assert.equal(config.insufficientCidrBackoffMs, 120000);
  assert.equal(config.cniSocket, '/var/run/aws-node/ipamd.sock');
  assert.equal(config.pre18Routing, false);
  assert.equal(config.leakedEniIntervalMs, 3_600_000);
  assert.equal(config.leakedEniMinAgeMs, 300_000);
  assert.equal(config.eniLinkRetryMs, 3000);
  assert.equal(config.eniSetupRetryMs, 10_000);
  assert.equal(config.metricsBindAddress, ':61678');
  assert.equal(config.eniConfigFile, '');
  assert.equal(config.dataplane, 'linux');
  assert.equal(config.labStateDir, '');
  assert.equal(config.resolvConf, '');
  assert.equal(config.branchVlanLink, 'create');
  const podnetOnly = settings.filter((s) => s.podnetOnly).map((s) => s.name);
  assert.ok(podnetOnly.length === 17 && podnetOnly.every((n) => n.startsWith('PODNET_')), podnetOnly.join(','));
});

test('every variable has a unique name and field, and every config field comes from exactly one variable', () => {
  const names = variables.map((v) => v.name);
  const fields = variables.map((v) => v.field);
  assert.equal(new Set(names).size, names.length);
  assert.equal(new Set(fields).size, fields.length);
  assert.deepEqual(Object.keys(loadConfig({}).config).sort(), [...fields].sort());
});

test('a value from the environment is labelled env, from a file file, otherwise default', () => {
  const fromEnv = loadConfig({ WARM_IP_TARGET: '3' }).settings.find((s) => s.name === 'WARM_IP_TARGET');
  assert.deepEqual([fromEnv?.source, fromEnv?.raw, fromEnv?.value], ['env', '3', '3']);
  const fromFile = loadConfig({ WARM_IP_TARGET: '3' }, { source: 'file' }).settings.find((s) => s.name === 'WARM_IP_TARGET');
  assert.equal(fromFile?.source, 'file');
  assert.equal(loadConfig({}).settings.find((s) => s.name === 'WARM_IP_TARGET')?.source, 'default');
});

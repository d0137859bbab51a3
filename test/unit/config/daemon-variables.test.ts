// The PODNET_* settings of `podnet ipamd` itself (metrics listener, ENIConfig file, dataplane, leaked-ENI GC timers, ENI setup retry waits):
// read and validated by src/config like every other variable, never flagged as typos.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findTypos, loadConfig, type Env } from '../../../src/config/index.js';

function findings(env: Env): string[] {
  return loadConfig(env).problems.map((p) => `${p.severity} ${p.rule} ${p.variable}`);
}

const daemonVariables = ['PODNET_METRICS_BIND_ADDRESS', 'PODNET_ENI_CONFIG_FILE', 'PODNET_DATAPLANE', 'PODNET_LEAKED_ENI_INTERVAL_MS', 'PODNET_LEAKED_ENI_MIN_AGE_MS',
  'PODNET_ENI_LINK_RETRY_MS', 'PODNET_ENI_SETUP_RETRY_MS'];

test('the daemon settings are known variables: none is reported as a probable typo', () => {
  assert.deepEqual(findTypos(daemonVariables), []);
  const { settings } = loadConfig({});
  for (const name of daemonVariables) {
    const setting = settings.find((s) => s.name === name);
    assert.ok(setting?.podnetOnly, `${name} is listed as podnet-only`);
    assert.deepEqual(setting.readBy, ['podnet']);
  }
});

test('PODNET_METRICS_BIND_ADDRESS takes HOST:PORT, [V6]:PORT, :PORT and unix:PATH', () => {
  for (const text of ['127.0.0.1:0', '[::1]:61678', ':9100', 'unix:/run/podnet-metrics.sock']) {
    const { config, problems } = loadConfig({ PODNET_METRICS_BIND_ADDRESS: text });
    assert.deepEqual(problems, [], text);
    assert.equal(config.metricsBindAddress, text);
  }
});

test('invalid-bind-address: a bare port, a port above 65535 or an empty socket path is an error and the default is kept', () => {
  for (const text of ['61678', '127.0.0.1:65536', 'unix:', 'localhost:metrics']) {
    assert.deepEqual(findings({ PODNET_METRICS_BIND_ADDRESS: text }), ['error invalid-bind-address PODNET_METRICS_BIND_ADDRESS'], text);
    assert.equal(loadConfig({ PODNET_METRICS_BIND_ADDRESS: text }).config.metricsBindAddress, ':61678');
  }
});

test('PODNET_DATAPLANE is linux or none; another word is an error (unknown-value), empty means the default linux', () => {
  assert.equal(loadConfig({ PODNET_DATAPLANE: 'none' }).config.dataplane, 'none');
  assert.equal(loadConfig({ PODNET_DATAPLANE: '' }).config.dataplane, 'linux');
  assert.deepEqual(findings({ PODNET_DATAPLANE: 'iptables' }), ['error unknown-value PODNET_DATAPLANE']);
  assert.deepEqual(findings({ PODNET_DATAPLANE: 'None' }), ['error unknown-value PODNET_DATAPLANE']);
});

test('PODNET_ENI_CONFIG_FILE is a path taken as given; unset or empty means no file', () => {
  assert.equal(loadConfig({ PODNET_ENI_CONFIG_FILE: '/etc/podnet/eniconfigs.yaml' }).config.eniConfigFile, '/etc/podnet/eniconfigs.yaml');
  assert.equal(loadConfig({ PODNET_ENI_CONFIG_FILE: '' }).config.eniConfigFile, '');
  assert.deepEqual(findings({ PODNET_ENI_CONFIG_FILE: '/etc/podnet/eniconfigs.yaml' }), []);
});

test('podnet-interval: the leaked-ENI GC period must be ≥ 1 ms, the minimum age ≥ 0 ms, both whole numbers', () => {
  const { config, problems } = loadConfig({ PODNET_LEAKED_ENI_INTERVAL_MS: '1000', PODNET_LEAKED_ENI_MIN_AGE_MS: '0' });
  assert.deepEqual(problems, []);
  assert.equal(config.leakedEniIntervalMs, 1000);
  assert.equal(config.leakedEniMinAgeMs, 0);
  assert.deepEqual(findings({ PODNET_LEAKED_ENI_INTERVAL_MS: '0' }), ['error podnet-interval PODNET_LEAKED_ENI_INTERVAL_MS']);
  assert.deepEqual(findings({ PODNET_LEAKED_ENI_MIN_AGE_MS: '-1' }), ['error podnet-interval PODNET_LEAKED_ENI_MIN_AGE_MS']);
  assert.deepEqual(findings({ PODNET_LEAKED_ENI_INTERVAL_MS: '1h' }), ['error malformed-int PODNET_LEAKED_ENI_INTERVAL_MS']);
  assert.equal(loadConfig({ PODNET_LEAKED_ENI_INTERVAL_MS: '1h' }).config.leakedEniIntervalMs, 3_600_000);
});

test('podnet-interval: the ENI link and setup retry waits default to upstream\'s 3 s and 10 s, take 0, and refuse a negative number', () => {
  assert.equal(loadConfig({}).config.eniLinkRetryMs, 3000);
  assert.equal(loadConfig({}).config.eniSetupRetryMs, 10000);
  const { config, problems } = loadConfig({ PODNET_ENI_LINK_RETRY_MS: '0', PODNET_ENI_SETUP_RETRY_MS: '250' });
  assert.deepEqual(problems, []);
  assert.equal(config.eniLinkRetryMs, 0);
  assert.equal(config.eniSetupRetryMs, 250);
  assert.deepEqual(findings({ PODNET_ENI_LINK_RETRY_MS: '-1' }), ['error podnet-interval PODNET_ENI_LINK_RETRY_MS']);
  assert.equal(loadConfig({ PODNET_ENI_LINK_RETRY_MS: '-1' }).config.eniLinkRetryMs, 3000);
  assert.deepEqual(findings({ PODNET_ENI_SETUP_RETRY_MS: '10s' }), ['error malformed-int PODNET_ENI_SETUP_RETRY_MS']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findTypos, loadConfig } from '../../../src/config/index.js';

test('an unknown AWS_VPC_/WARM_/ENABLE_ name is flagged with the nearest known name', () => {
  const typos = findTypos(['WARM_IP_TAGRET', 'AWS_VPC_K8S_CNI_EXTERNAL_SNAT', 'ENABLE_PREFIX_DELEGATON', 'MINIMUM_IP_TARGETS']);
  assert.deepEqual(Object.fromEntries(typos.map((t) => [t.variable, t.suggestions[0]])), {
    AWS_VPC_K8S_CNI_EXTERNAL_SNAT: 'AWS_VPC_K8S_CNI_EXTERNALSNAT',
    ENABLE_PREFIX_DELEGATON: 'ENABLE_PREFIX_DELEGATION',
    MINIMUM_IP_TARGETS: 'MINIMUM_IP_TARGET',
    WARM_IP_TAGRET: 'WARM_IP_TARGET',
  });
  assert.match(typos[0]!.message, /probable typo of AWS_VPC_K8S_CNI_EXTERNALSNAT/);
  assert.equal(typos[0]!.fix, 'rename it to AWS_VPC_K8S_CNI_EXTERNALSNAT');
});

test('a wrong-case name (ENABLE_IPV6) is flagged: upstream names are case-sensitive', () => {
  const [typo] = findTypos(['ENABLE_IPV6']);
  assert.equal(typo?.suggestions[0], 'ENABLE_IPv6');
  assert.match(typo?.message ?? '', /case-sensitive/);
  assert.equal(loadConfig({ ENABLE_IPV6: 'true' }).config.enableIPv6, false);
});

test('PODNET_ names are ours: an unknown one is flagged even with no close name', () => {
  const typos = findTypos(['PODNET_POOL_INTERVAL', 'PODNET_SOMETHING_ELSE_ENTIRELY']);
  assert.deepEqual(typos.map((t) => [t.variable, t.suggestions[0]]), [
    ['PODNET_POOL_INTERVAL', 'PODNET_POOL_INTERVAL_MS'],
    ['PODNET_SOMETHING_ELSE_ENTIRELY', undefined],
  ]);
});

test('known names and unrelated environment variables are not flagged', () => {
  assert.deepEqual(findTypos(['WARM_IP_TARGET', 'PODNET_CNI_SOCKET', 'PATH', 'HOME', 'AWS_REGION', 'HTTP_PROXY', 'ENABLE_COLOR_OUTPUT_FOR_MY_SHELL']), []);
});

test('loadConfig reports typos in `unknown`, not as problems', () => {
  const { problems, unknown } = loadConfig({ WARM_ENI_TARGT: '2' });
  assert.deepEqual(problems, []);
  assert.deepEqual(unknown.map((t) => t.variable), ['WARM_ENI_TARGT']);
});

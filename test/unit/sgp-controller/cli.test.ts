/** `podnet sgp-controller`'s usage errors, said before anything starts (error:/hint:, exit 2). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { podnet } from '../../run-podnet.js';

test('no region, or a kubeconfig that does not exist: a usage error naming it, exit 2', () => {
  const env = { HOME: '/nonexistent', AWS_SDK_JS_SUPPRESS_NODE_VERSION_SUPPORT_WARNING: '1' };
  const noRegion = podnet(['sgp-controller', '--kubeconfig', '/nonexistent/kubeconfig'], { env });
  assert.equal(noRegion.status, 2, noRegion.stderr);
  assert.match(noRegion.stderr, /error: no AWS region: give --region or set AWS_REGION\nhint: /);
  const noFile = podnet(['sgp-controller', '--kubeconfig', '/nonexistent/kubeconfig', '--region', 'us-west-2'], { env });
  assert.equal(noFile.status, 2, noFile.stderr);
  assert.match(noFile.stderr, /error: kubeconfig \/nonexistent\/kubeconfig does not exist/);
  const badCooldown = podnet(['sgp-controller', '--branch-cooldown', 'soon'], { env });
  assert.equal(badCooldown.status, 2);
  assert.match(badCooldown.stderr, /expected seconds/);
});

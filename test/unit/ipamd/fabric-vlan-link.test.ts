import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toCniError } from '../../../src/cni/errors.js';
import { PodnetError } from '../../../src/lib/index.js';
import { waitForFabricVlanLink } from '../../../src/ipamd/node-dataplane.js';

test('PODNET_BRANCH_VLAN_LINK=fabric: a vlan.eth.<id> the fabric has not made yet is "try again later" (CNI 11), after the wait', async () => {
  const started = Date.now();
  // no link of this namespace carries this MAC: the fabric has not handed the branch over
  const err = await waitForFabricVlanLink(7, '02:00:5e:00:53:07', 'default/b1', 300).then(() => undefined, (e: unknown) => e);
  assert.ok(Date.now() - started >= 300, 'it waited');
  assert.ok(err instanceof PodnetError);
  assert.equal(err.code, 'IPAMD_NOT_READY');
  assert.match(err.message, /pod default\/b1: the fabric has not handed this node vlan\.eth\.7 with the branch ENI's MAC 02:00:5e:00:53:07 within 0\.3 s/);
  assert.equal(toCniError(err, '1.0.0').code, 11);
});

// The fallback's reason for not reaching ipamd, from what the launcher saw (issue 12 item 3: the launcher runs nc
// under timeout, whose own messages must not read as a missing socket).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unreachableReason } from '../../../src/cni/index.js';

const socket = '/run/aws-node/ipamd.sock';

test('each thing the launcher can see names its own cause', () => {
  const cases: Array<[string | undefined, RegExp]> = [
    [undefined, /socket .* does not exist/],
    ['nc: unix connect failed: No such file or directory', /socket .* does not exist/],
    ['nc: unix connect failed: Connection refused', /nothing accepts connections/],
    ['podnet-cni: ipamd did not answer within 30 s', /did not answer within 30 s/],
    ['', /closed the connection .* without an answer/],
    // GNU timeout when nc is missing: about nc, not the socket, although it says "No such file"
    ["timeout: failed to run command 'nc': No such file or directory", /cannot reach ipamd .*failed to run command 'nc'.*needs timeout and an nc/],
    ['sh: 1: timeout: not found', /cannot reach ipamd .*timeout: not found/],
  ];
  for (const [answer, reason] of cases) assert.match(unreachableReason(socket, answer), reason, String(answer));
});

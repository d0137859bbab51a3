// The CLI writes the lab's default state directory out so that `podnet --help` loads no lab code; it must stay the lab's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LAB_STATE_DIR } from '../../../src/cli/lab.js';
import { DEFAULT_STATE_DIR } from '../../../src/lab/index.js';

test("the CLI's --state-dir default is the lab's DEFAULT_STATE_DIR", () => {
  assert.equal(LAB_STATE_DIR, DEFAULT_STATE_DIR);
});

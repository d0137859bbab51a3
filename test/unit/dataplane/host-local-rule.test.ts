/**
 * The local table's rule under strict security groups for pods (spec §3.1, §3.9): it moves from priority 0 to 20 and
 * back without a moment where the node has none (loopback and the node's own addresses need it), and priority 20 is
 * podnet's only as the plain `lookup local` rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planHostRules, renderHostRules, type IpRule } from '../../../src/dataplane/index.js';
import { fullExampleInput } from './fixtures/full-example.js';

const LOCAL = 255;
const local = (priority: number, extra: Partial<IpRule> = {}): IpRule => ({ family: 4, priority, table: LOCAL, ...extra });
const desired = (strict: boolean) => renderHostRules({ ...fullExampleInput, podSgStrict: strict }).ipRules.filter((r) => r.family === 4);
// what the host has besides the local rules: the fwmark rule both modes want
const others = () => desired(false);
const cmds = (current: IpRule[], strict: boolean) => planHostRules(current, desired(strict)).map((l) => l.cmd);

test('to strict: prio 20 is added before the kernel\'s prio 0 is deleted (never no local rule)', () => {
  const lines = cmds([local(0), ...others()], true);
  assert.deepEqual(lines, ['rule add lookup 255 prio 20', 'rule del lookup 255 prio 0']);
  // already strict: nothing
  assert.deepEqual(cmds([local(20), ...others()], true), []);
});

test('back from strict (standard mode or ENABLE_POD_ENI off): prio 0 is put back before prio 20 is deleted', () => {
  assert.deepEqual(cmds([local(20), ...others()], false), ['rule add lookup 255 prio 0', 'rule del lookup 255 prio 20']);
  // a prio-0 local rule is there (a strict run cut short): only 20 goes
  assert.deepEqual(cmds([local(0), local(20), ...others()], false), ['rule del lookup 255 prio 20']);
  // never strict: the kernel's rule is not touched
  assert.deepEqual(cmds([local(0), ...others()], false), []);
});

test('a prio-20 rule that is not exactly `lookup local` is not podnet\'s: never deleted, and not taken for the local rule', () => {
  for (const extra of [{ iif: 'lo' }, { to: '10.0.0.0/8' }, { otherSelectors: ['ipproto'] }] as Partial<IpRule>[]) {
    assert.deepEqual(cmds([local(0), local(20, extra), ...others()], false), [], JSON.stringify(extra));
    // strict: the plain one is still added before prio 0 goes
    assert.deepEqual(cmds([local(0), local(20, extra), ...others()], true), ['rule add lookup 255 prio 20', 'rule del lookup 255 prio 0'], JSON.stringify(extra));
  }
  assert.deepEqual(cmds([local(0), { family: 4, priority: 20, table: 254 }, ...others()], false), []);
});

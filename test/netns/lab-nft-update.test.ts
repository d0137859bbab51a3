// The controller's nft update in a namespace: a change of set elements only (an address an ENI got, a group's new
// member) deletes and adds just those elements and keeps every rule and counter; any other change replaces the table,
// counters carried.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { run } from '../../src/lib/index.js';
import { renderSourceCheck } from '../../src/lab/index.js';
import { updateNftTable } from '../../src/lab/apply.js';

const netns = 'pn-nft-update';
const table = (sources: string[], members: string[], port: number) =>
  renderSourceCheck(sources.map((s) => `"pne0123456789ab" . ${s}`), [], '10.0.0.0/16', [
    `  set members_sg_1 { type ipv4_addr; flags interval;${members.length > 0 ? ` elements = { ${members.join(', ')} };` : ''} }`,
    '  chain filter {',
    '    type filter hook forward priority filter; policy accept;',
    `    meta l4proto 6 th dport ${port} ip saddr != @members_sg_1 counter drop comment "security-group"`,
    '  }',
  ]);
const list = async () => (await run(['nft', 'list', 'table', 'ip', 'pn_vpc'], { netns })).stdout;

before(async () => {
  await run(['ip', 'netns', 'add', netns]);
});
after(async () => {
  await run(['ip', 'netns', 'del', netns]);
});

test('set elements only: the elements that went are deleted and the new ones added, the rules and their counters stay; a rule change replaces the table with its counters', async () => {
  const first = table(['10.0.0.5/32'], ['10.0.0.5/32'], 7007);
  assert.equal(await updateNftTable(netns, undefined, first), 'table');
  // a count as if packets had been dropped: the controller's table as nft would list it after some drops
  await run(['nft', '-f', '-'], { netns, input: `delete table ip pn_vpc\n${first.replace('counter drop comment "security-group"', 'counter packets 4 bytes 240 drop comment "security-group"')}\n` });

  const grown = table(['10.0.0.5/32', '10.0.0.9/32'], ['10.0.0.5/32', '10.0.0.9/32', '10.0.0.48/28'], 7007);
  assert.equal(await updateNftTable(netns, first, grown), 'sets');
  let listing = await list();
  assert.match(listing, /10\.0\.0\.9/);
  assert.match(listing, /10\.0\.0\.48\/28/);
  assert.match(listing, /counter packets 4 bytes 240 drop comment "security-group"/, 'the rule and its counter stayed');

  const emptied = table(['10.0.0.5/32', '10.0.0.9/32'], [], 7007);
  assert.equal(await updateNftTable(netns, grown, emptied), 'sets');
  assert.doesNotMatch((await run(['nft', 'list', 'set', 'ip', 'pn_vpc', 'members_sg_1'], { netns })).stdout, /elements/);

  const otherPort = table(['10.0.0.5/32', '10.0.0.9/32'], [], 8080);
  assert.equal(await updateNftTable(netns, emptied, otherPort), 'table');
  listing = await list();
  assert.match(listing, /tcp dport 8080 .*counter packets 4 bytes 0 drop comment "security-group"/, 'a replaced table carries the count');
});

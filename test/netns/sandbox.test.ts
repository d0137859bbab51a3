import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../src/lib/index.js';

// Proves the sandbox: two namespaces joined by a veth, and a UDP datagram that really crosses between them.
const a = 'pn-sbx-a';
const b = 'pn-sbx-b';

after(async () => {
  for (const ns of [a, b]) await run(['ip', 'netns', 'del', ns]).catch(() => {});
});

test('the netns registry is private to this sandbox', async () => {
  const { stdout } = await run(['ip', 'netns', 'list']);
  assert.equal(stdout.trim(), '');
});

test('a UDP datagram crosses a veth between two namespaces', async () => {
  await run(['ip', 'netns', 'add', a]);
  await run(['ip', 'netns', 'add', b]);
  await run(['ip', 'link', 'add', 'pnsbx0', 'netns', a, 'type', 'veth', 'peer', 'name', 'pnsbx1', 'netns', b]);
  // `ip -batch` has no per-line -n: one batch per namespace
  await run(['ip', '-n', a, '-batch', '-'], { input: 'addr add 192.0.2.1/30 dev pnsbx0\nlink set pnsbx0 up\n' });
  await run(['ip', '-n', b, '-batch', '-'], { input: 'addr add 192.0.2.2/30 dev pnsbx1\nlink set pnsbx1 up\n' });
  const server = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>{console.log(m.toString()+' from '+r.address);process.exit(0)});s.bind(9999,'192.0.2.2',()=>console.log('ready'));setTimeout(()=>process.exit(3),5000)`;
  const received = run([process.execPath, '-e', server], { netns: b });
  await new Promise((r) => setTimeout(r, 300));
  const client = `const s=require('dgram').createSocket('udp4');s.send('ping',9999,'192.0.2.2',()=>s.close())`;
  await run([process.execPath, '-e', client], { netns: a });
  const { stdout } = await received;
  assert.match(stdout, /ping from 192\.0\.2\.1/);
});

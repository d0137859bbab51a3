// `podnet ec2 serve --dns-listen` as a user meets it: the banner names the resolver's addresses, the resolver answers
// there, and addresses that cannot be a VPC's resolver are usage errors.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { test } from 'node:test';
import { podnet, podnetArgv, root } from '../../run-podnet.js';

test('ec2 serve --dns-listen: the JSON banner lists the bound addresses and the VPC DNS answers on each', async () => {
  const child = spawn(process.execPath, [...podnetArgv, 'ec2', 'serve', '--listen', '127.0.0.1:0', '--imds-listen', '127.0.0.1:0', '--dns-listen', '127.0.0.10:0', '--dns-listen', '127.0.0.11:0', '--json'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  try {
    const banner = await new Promise<{ dns: string[]; region: string }>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no banner in 60 s; stderr: ${stderr}`)), 60_000);
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(JSON.parse(out.split('\n')[0]!));
        }
      });
      child.on('exit', (code) => reject(new Error(`ec2 serve exited ${code}: ${stderr}`)));
    });
    assert.equal(banner.dns.length, 2);
    assert.match(banner.dns[0]!, /^127\.0\.0\.10:[1-9]\d*$/);
    assert.match(banner.dns[1]!, /^127\.0\.0\.11:[1-9]\d*$/);
    for (const address of banner.dns) {
      const r = new Resolver({ timeout: 2000, tries: 2 });
      r.setServers([address]);
      // the EC2 endpoint's name resolves to the emulator's --listen host; the internet's names do not resolve
      assert.deepEqual(await r.resolve4(`ec2.${banner.region}.amazonaws.com`), ['127.0.0.1']);
      await assert.rejects(r.resolve4('example.com'), { code: 'ENOTFOUND' });
    }
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
});

test('--dns-listen takes an IP address, on loopback unless --allow-non-loopback', () => {
  const named = podnet(['ec2', 'serve', '--dns-listen', 'localhost:53']);
  assert.equal(named.status, 2);
  assert.match(named.stderr, /^error: option '--dns-listen <host:port>' argument 'localhost:53' is invalid\. expected an IP address and a port \(e\.g\. 10\.0\.0\.2:53, the VPC base \+ 2\)/);
  const outside = podnet(['ec2', 'serve', '--dns-listen', '10.0.0.2:53', '--json']);
  assert.equal(outside.status, 2);
  assert.deepEqual(JSON.parse(outside.stderr), {
    error: '--dns-listen 10.0.0.2 is not a loopback address',
    hint: 'the emulator listens on loopback by default; add --allow-non-loopback to bind elsewhere (e.g. inside a lab namespace)',
    code: 'USAGE',
  });
});

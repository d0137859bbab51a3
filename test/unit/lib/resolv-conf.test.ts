import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startVpcDns, type VpcDnsServer } from '../../../src/ec2/index.js';
import { createServingMaterial } from '../../../src/k8s-api/tls.js';
import { PodnetError, parseResolvConf, searchCandidates } from '../../../src/lib/index.js';

const parseError = (text: string) => {
  try {
    parseResolvConf(text, 'f');
  } catch (err) {
    assert.ok(err instanceof PodnetError);
    return err;
  }
  assert.fail('expected a PodnetError');
};

describe('resolv.conf', () => {
  test('nameserver, search/domain (last wins), options; comments and unknown keywords ignored', () => {
    const conf = parseResolvConf('# lab node\nnameserver 10.0.0.2\nnameserver fd00::2 ; v6\ndomain old.example\nsearch us-west-2.compute.internal. svc.cluster.local\noptions ndots:5 timeout:2 attempts:3 rotate\nsortlist 10.0.0.0/8\n', 'f');
    assert.deepEqual(conf, { nameservers: ['10.0.0.2', 'fd00::2'], search: ['us-west-2.compute.internal', 'svc.cluster.local'], ndots: 5, timeoutMs: 2000, attempts: 3 });
  });

  test("glibc's defaults: ndots 1, timeout 5 s, 2 attempts; podnet also reads ADDRESS:PORT and [V6]:PORT", () => {
    assert.deepEqual(parseResolvConf('nameserver 127.0.0.1:5353\nnameserver [::1]:53\n', 'f'), { nameservers: ['127.0.0.1:5353', '[::1]:53'], search: [], ndots: 1, timeoutMs: 5000, attempts: 2 });
  });

  test('a nameserver that is not an address, or none at all, is CONFIG_INVALID with the line and a hint', () => {
    const bad = parseError('search x\nnameserver dns.example\n');
    assert.equal(bad.code, 'CONFIG_INVALID');
    assert.match(bad.message, /^f line 2: nameserver "dns\.example" is not an IP address$/);
    assert.match(bad.hint ?? '', /nameserver 10\.0\.0\.2/);
    for (const text of ['nameserver 10.0.0.2:0', 'nameserver 10.0.0.2:70000', 'nameserver [10.0.0.2]:53', 'nameserver 10.0.0.256', 'nameserver 10.0.0.2 10.0.0.3']) assert.equal(parseError(text).code, 'CONFIG_INVALID', text);
    const none = parseError('# nothing\nsearch example\n');
    assert.match(none.message, /names no nameserver/);
    assert.match(none.hint ?? '', /never falls back to the host's resolver/);
  });

  test('search candidates follow ndots; a trailing dot is absolute', () => {
    const conf = { search: ['a.internal', 'b.internal'], ndots: 1 };
    assert.deepEqual(searchCandidates('node1', conf), ['node1.a.internal', 'node1.b.internal', 'node1']);
    assert.deepEqual(searchCandidates('ec2.amazonaws.com', conf), ['ec2.amazonaws.com', 'ec2.amazonaws.com.a.internal', 'ec2.amazonaws.com.b.internal']);
    assert.deepEqual(searchCandidates('x.y', { search: ['s'], ndots: 5 }), ['x.y.s', 'x.y']);
    assert.deepEqual(searchCandidates('node1.', conf), ['node1']);
  });
});

describe('PODNET_RESOLV_CONF: a podnet process resolves through the named DNS only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-resolv-'));
  const name = 'ip-127-0-0-1.us-west-2.compute.internal';
  let dns: VpcDnsServer;
  const servers: Server[] = [];
  let ports: number[] = [];

  before(async () => {
    // the DNS knows loopback as a VPC's block, so the EC2 private name of 127.0.0.1 resolves; nothing else does
    dns = await startVpcDns({
      listen: [{ host: '127.0.0.8', port: 0, vpcId: 'vpc-lo' }],
      source: { region: 'us-west-2', vpcs: () => [{ vpcId: 'vpc-lo', cidrs: ['127.0.0.0/24'] }], clusters: () => [] },
      log: () => {},
    });
    const tls = await createServingMaterial([name]);
    writeFileSync(join(dir, 'ca.pem'), tls.caPem);
    servers.push(
      createHttpServer((_req, res) => res.end('over http')),
      createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => res.end('over https')),
      createTcpServer((socket) => socket.end('over net')) as unknown as Server,
    );
    ports = await Promise.all(servers.map((s) => new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)))));
    writeFileSync(join(dir, 'resolv.conf'), `nameserver 127.0.0.8:${dns.listeners[0]!.port}\nsearch us-west-2.compute.internal\noptions timeout:2 attempts:1\n`);
  });
  after(async () => {
    await dns.close();
    for (const s of servers) s.closeAllConnections?.();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    rmSync(dir, { recursive: true, force: true });
  });

  const child = fileURLToPath(new URL('./resolv-conf-child.ts', import.meta.url));
  const run = (env: Record<string, string>, args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', child, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });

  test('http, https (certificate checked for the name), fetch, net and dns.promises connect by a name only the VPC DNS knows', async () => {
    const { stdout } = await run({ PODNET_RESOLV_CONF: join(dir, 'resolv.conf') }, [name, String(ports[0]), String(ports[1]), String(ports[2]), join(dir, 'ca.pem')]);
    const results = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    assert.deepEqual(results, {
      short: { value: { address: '127.0.0.1', family: 4 } },
      lookupAll: { value: [{ address: '127.0.0.1', family: 4 }] },
      promisified: { value: { address: '127.0.0.1', family: 4 } },
      http: { value: 'over http' },
      https: { value: 'over https' },
      fetch: { value: 'over http' },
      net: { value: 'over net' },
      unknown: { error: 'ENOTFOUND' },
      hostName: hostname() === 'localhost' ? { value: { address: '127.0.0.1', family: 4 } } : { error: 'ENOTFOUND' },
      localhost: { value: { address: '127.0.0.1', family: 4 } },
      literal: { value: { address: '127.0.0.9', family: 4 } },
      resolve4: { value: ['127.0.0.1'] },
    });
  });

  test('an unreadable PODNET_RESOLV_CONF stops the command with error: and hint: before it runs', async () => {
    const failed = await run({ PODNET_RESOLV_CONF: join(dir, 'missing.conf') }, [name, '1', '1', '1', join(dir, 'ca.pem')]).then(
      () => assert.fail('expected the child to fail'),
      (err: { code: number; stderr: string; stdout: string }) => err,
    );
    assert.match(failed.stderr, /^error: cannot read PODNET_RESOLV_CONF file .*missing\.conf: it does not exist\nhint: point PODNET_RESOLV_CONF at a readable resolv\.conf/m);
  });
});

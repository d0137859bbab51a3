/**
 * What the podnet-cni launcher costs per CNI call: bin/podnet-cni (sh + timeout + nc) against a trivial unix-socket server
 * that answers a fixed ADD result, side by side with the parts it is made of (nc alone, sh alone), with curl (what
 * the launcher used before) and with what a Node plugin would cost (node start-up). Sequential calls, wall time from spawn to exit. Prints p50/p99 in ms;
 * asserts nothing.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installCni } from '../src/cni/index.js';
import { percentile } from './stats.js';

const calls = Number(process.env.CALLS ?? 200);
const dir = mkdtempSync(join(tmpdir(), 'podnet-bench-cni-'));
const socket = join(dir, 'ipamd.sock');
// the launcher as `podnet cni install` writes it for this socket (no fallback runs here: the server always answers)
mkdirSync(join(dir, 'cni'));
const launcher = installCni({
  binDir: join(dir, 'cni', 'bin'),
  confDir: join(dir, 'cni', 'net.d'),
  conflist: { vethPrefix: 'eni', mtu: 9001, podSGEnforcingMode: 'strict', pluginLogFile: '', pluginLogLevel: '', bandwidth: false, ipamdSocket: socket },
  fallbackArgv: ['false'],
}).launcher;

const result = JSON.stringify({
  cniVersion: '0.4.0',
  interfaces: [{ name: 'enic440f455693' }, { name: 'eth0', mac: '254', sandbox: '/var/run/netns/cni-1' }, { name: 'dummyc440f455693', mac: '0', sandbox: '0' }],
  ips: [{ version: '4', interface: 1, address: '10.0.97.30/32' }],
  dns: {},
});
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'x-cni-exit-code': '0' }).end(result));
});
await new Promise<void>((resolve) => server.listen(socket, resolve));

const conf = JSON.stringify({ cniVersion: '0.4.0', name: 'aws-cni', type: 'podnet-cni', vethPrefix: 'eni', mtu: '9001', ipamdSocket: socket });
const env = {
  PATH: process.env.PATH,
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'a'.repeat(64),
  CNI_NETNS: '/var/run/netns/cni-1',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'K8S_POD_INFRA_CONTAINER_ID=x;K8S_POD_UID=u;IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx',
  CNI_PATH: '/opt/cni/bin',
};

/** `raw`: the output is an HTTP answer whose body must be the result (nc prints what the server sent). */
function once(argv: string[], stdin: string, raw = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { cwd: '/', env, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const printed = raw ? out.slice(out.indexOf('\r\n\r\n') + 4) : out.trim();
      if (code !== 0 || printed !== result) reject(new Error(`${argv.join(' ')} exited ${code}: ${out}`));
      else resolve(performance.now() - start);
    });
    child.stdin.end(stdin);
  });
}

async function measure(label: string, argv: string[], n: number, stdin = conf, raw = false): Promise<number> {
  for (let i = 0; i < 5; i++) await once(argv, stdin, raw); // warm the page cache and the server
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(await once(argv, stdin, raw));
  const [p50, p99] = [percentile(times, 50), percentile(times, 99)];
  console.log(`${label.padEnd(46)} n=${String(n).padEnd(4)} p50 ${p50.toFixed(2).padStart(6)} ms   p99 ${p99.toFixed(2).padStart(6)} ms`);
  return p50;
}

const curlOnly = ['curl', '--silent', '--show-error', '--fail-with-body', '--max-time', '30', '--unix-socket', socket, '-H', 'Expect:', '--data-binary', '@-', 'http://ipamd/cni'];
const ncOnly = ['nc', '-U', socket];
// the launcher runs nc under coreutils' timeout (ncat's -w only limits connecting): its share of the call
const ncUnderTimeout = ['timeout', '30', ...ncOnly];
const rawRequest = `POST /cni HTTP/1.0\r\nContent-Length: ${Buffer.byteLength(conf)}\r\n\r\n${conf}`;
const echoResult = ['/bin/sh', '-c', `cat >/dev/null; printf '%s\\n' '${result}'`];
const nodeEcho = [process.execPath, '-e', `process.stdin.resume();process.stdin.on('end',()=>console.log(${JSON.stringify(result)}))`];

console.log(`podnet-cni launcher overhead, ${calls} sequential ADD calls against a trivial unix-socket server`);
const launcherP50 = await measure('bin/podnet-cni (sh + timeout + nc -U)', ['/bin/sh', launcher], calls);
const ncP50 = await measure('nc alone, the same request (prints it raw)', ncOnly, calls, rawRequest, true);
const timeoutP50 = await measure('timeout 30 nc, the same request (raw)', ncUnderTimeout, calls, rawRequest, true);
await measure('curl alone, the same request', curlOnly, calls);
await measure('sh alone (read stdin, print a fixed result)', echoResult, calls);
const nodeP50 = await measure('node alone (read stdin, print a fixed result)', nodeEcho, Math.min(calls, 50));
console.log(`launcher p50 vs nc alone: +${(launcherP50 - ncP50).toFixed(2)} ms, of which timeout +${(timeoutP50 - ncP50).toFixed(2)} ms`);
console.log(`a Node plugin's start-up alone is ${(nodeP50 / launcherP50).toFixed(1)}× the launcher's whole call`);

// the launcher reads no field of the config, so its cost grows with the config's size only (issue 10, class 6);
// nested arrays were the worst case of the config scanner it had before (16 KB took more than 100 s)
for (const [label, bytes] of [['64 KB', 64 << 10], ['1 MB', 1 << 20]] as const) {
  const depth = Math.floor(bytes / 4);
  const big = `{"cniVersion":"0.4.0","name":"aws-cni","type":"podnet-cni","extra":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  await measure(`bin/podnet-cni, a ${label} config of nested arrays`, ['/bin/sh', launcher], Math.min(calls, 20), big);
}

server.close();
rmSync(dir, { recursive: true, force: true });

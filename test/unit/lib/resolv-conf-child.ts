/**
 * Run by resolv-conf.test.ts as a child process with PODNET_RESOLV_CONF set: podnet's main installs the resolver
 * switch (here through `--version`, which connects nowhere), then this connects by names only the test's DNS knows,
 * through each path a podnet process uses, and prints what happened as one JSON line.
 */
import { lookup as lookupCallback, promises as dnsPromises } from 'node:dns';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { main } from '../../../src/cli/main.js';

const [name, httpPort, httpsPort, tcpPort, caFile] = process.argv.slice(2) as [string, string, string, string, string];
const { readFileSync } = await import('node:fs');
const ca = readFileSync(caFile, 'utf8');

await main(['node', 'podnet', '--version']);

const settle = <T>(p: Promise<T>) => p.then((value) => ({ value }), (err: NodeJS.ErrnoException) => ({ error: err.code ?? err.message }));
const body = (get: typeof httpGet, url: string, options: object) =>
  new Promise<string>((resolve, reject) => {
    get(url, options, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
const netGreeting = (host: string, port: number) =>
  new Promise<string>((resolve, reject) => {
    const socket = connect({ host, port });
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });

const results = {
  // the search domain completes a short name (ndots:1)
  short: await settle(dnsPromises.lookup(name.split('.')[0]!)),
  lookupAll: await settle(dnsPromises.lookup(name, { all: true })),
  // a named import bound before main installed the switch
  promisified: await settle(promisify(lookupCallback)(name)),
  http: await settle(body(httpGet, `http://${name}:${httpPort}/`, {})),
  https: await settle(body(httpsGet, `https://${name}:${httpsPort}/`, { ca })),
  fetch: await settle(fetch(`http://${name}:${httpPort}/`).then((r) => r.text())),
  net: await settle(netGreeting(name, Number(tcpPort))),
  unknown: await settle(dnsPromises.lookup('example.com')),
  // the host's own name is in its /etc/hosts; the switch never reads it
  hostName: await settle(dnsPromises.lookup(hostname())),
  localhost: await settle(dnsPromises.lookup('localhost', { family: 4 })),
  literal: await settle(dnsPromises.lookup('127.0.0.9')),
  // dns.resolve4 (c-ares) asks the same servers
  resolve4: await settle(dnsPromises.resolve4(name)),
};
process.stdout.write(JSON.stringify(results) + '\n');

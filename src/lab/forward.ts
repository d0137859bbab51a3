/**
 * `podnet lab forward`: a byte relay, so that kubectl on the host reaches the lab's API server, which listens inside
 * the aws namespace. Network namespaces share the filesystem, so a unix socket in the state directory bridges them:
 * one relay on the host (127.0.0.1:PORT → the socket) and one in the aws namespace (the socket → <ec2 endpoint>:6443).
 * TLS passes through untouched: the client verifies the API server's own certificate, whose names include 127.0.0.1.
 */
import { rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { PodnetError } from '../lib/index.js';

/** Where a relay listens or connects: `HOST:PORT`, or a unix socket's absolute path. */
export type RelayAddress = { host: string; port: number } | { path: string };

export function parseRelayAddress(text: string): RelayAddress {
  if (text.startsWith('/')) return { path: text };
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new PodnetError('USAGE', `'${text}' is not an IPv4 HOST:PORT or an absolute socket path`, 'e.g. 127.0.0.1:0 or /run/podnet-lab/k8s.sock');
  return { host: m[1]!, port: Number(m[2]) };
}

/** Pipes each accepted connection to a new connection to `target`; either side closing closes the other. */
export async function startRelay(listen: RelayAddress, target: RelayAddress): Promise<{ address: RelayAddress; close(): void; cut(): number }> {
  const open = new Set<Socket>();
  // half-open: a side that finished sending may still receive the answer (pipe ends the other side's writing only)
  const server = createServer({ allowHalfOpen: true }, (client: Socket) => {
    const upstream = connect({ ...target, allowHalfOpen: true });
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    open.add(client).add(upstream);
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  // a socket file left by a relay that was killed would make listen fail with EADDRINUSE
  if ('path' in listen) rmSync(listen.path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen, () => resolve());
  });
  const bound = server.address();
  return {
    address: typeof bound === 'string' || bound === null ? listen : { host: (bound as AddressInfo).address, port: (bound as AddressInfo).port },
    close: () => {
      server.close();
      for (const s of open) s.destroy();
    },
    /** closes every open connection, keeps listening; returns how many connections (client sides) were cut */
    cut: () => {
      const count = Math.ceil(open.size / 2);
      for (const s of open) s.destroy();
      open.clear();
      return count;
    },
  };
}

/**
 * `podnet lab forward`: a relay until SIGTERM/SIGINT; its address is announced once it listens. SIGHUP cuts every
 * connection it carries and keeps listening: the cluster endpoint's relay gets it when the endpoint's configuration
 * changes, so clients connect (and resolve the endpoint's name) again.
 */
export async function runRelay(listen: RelayAddress, target: RelayAddress, onListening: (where: RelayAddress) => void): Promise<void> {
  const relay = await startRelay(listen, target);
  process.on('SIGHUP', () => relay.cut());
  onListening(relay.address);
  await new Promise<void>((resolve) => {
    const stop = () => {
      relay.close();
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

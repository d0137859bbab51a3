/**
 * The small HTTP listeners of ipamd (introspection, metrics): bind-address parsing as upstream writes them
 * (`127.0.0.1:61679`, `:61678` for all interfaces, `unix:/path`), and a listen that names the address on failure.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { unlinkSync } from 'node:fs';
import { parseBindAddress as parseBindText, type BindAddress } from '../config/index.js';
import { PodnetError, closeServer, formatListenTarget, listenOn } from '../lib/index.js';

export type { BindAddress };

/** The address a listen variable names; PodnetError CONFIG_INVALID when it names none (src/config checks the same). */
export function parseBindAddress(text: string, variable: string): BindAddress {
  const bind = parseBindText(text);
  if (bind !== undefined) return bind;
  if (text === 'unix:') throw new PodnetError('CONFIG_INVALID', `${variable}=${text} names no socket path`, 'write unix:/path/to/socket');
  throw new PodnetError('CONFIG_INVALID', `${variable}=${text} is not HOST:PORT, :PORT or unix:PATH`, 'e.g. 127.0.0.1:61679 (port 0 picks a free port)');
}

export function formatBindAddress(b: BindAddress): string {
  return formatListenTarget(b);
}

export interface HttpEndpoint {
  /** Where it listens, with the real port when 0 was asked. */
  address: BindAddress;
  close(): Promise<void>;
}

export async function startHttpEndpoint(
  bind: BindAddress,
  what: string,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void,
): Promise<HttpEndpoint> {
  const server = createServer((req, res) => {
    Promise.resolve(handle(req, res)).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${what} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  // upstream's introspection server has 5 s read and write timeouts (spec §6.5)
  server.requestTimeout = 5000;
  server.keepAliveTimeout = 1000;
  if (bind.kind === 'unix') {
    try {
      unlinkSync(bind.path);
    } catch {
      // no stale socket
    }
  }
  await listenOn(server, bind, what, 'another process (or another podnet ipamd) holds the address; choose another with the bind-address setting');
  const info = server.address();
  const address: BindAddress = bind.kind === 'unix' ? bind : { kind: 'tcp', host: bind.host, port: (info as AddressInfo).port };
  return { address, close: () => closeServer(server) };
}

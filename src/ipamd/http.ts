/**
 * The small HTTP listeners of ipamd (introspection, metrics): bind-address parsing as upstream writes them
 * (`127.0.0.1:61679`, `:61678` for all interfaces, `unix:/path`), and a listen that names the address on failure.
 * Both are safe servers (src/lib/http.ts): a malformed request is answered 4xx and never stops them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { unlinkSync } from 'node:fs';
import { parseBindAddress as parseBindText, type BindAddress } from '../config/index.js';
import { PodnetError, closeServer, createSafeServer, formatListenTarget, listenOn, type RequestTarget } from '../lib/index.js';

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
  handle: (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => Promise<void> | void,
): Promise<HttpEndpoint> {
  // upstream's introspection server has 5 s read timeouts (spec §6.5); the safe server's are shorter, since a
  // request that takes longer than a second to arrive on loopback is a stalled or hostile sender
  const server = createSafeServer(handle, { what });
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

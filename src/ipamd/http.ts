/**
 * The small HTTP listeners of ipamd (introspection, metrics), at a listen address as upstream writes them
 * (`127.0.0.1:61679`, `:61678` for all interfaces, `unix:/path`; parsed by src/lib's parseListenAddress). Both are
 * safe servers (src/lib/http.ts): a malformed request is answered 4xx and never stops them; a unix socket a live
 * process holds is refused, as the CNI socket's is.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PodnetError, closeServer, createSafeServer, listenOn, parseListenAddress, type ListenAddress, type RequestTarget } from '../lib/index.js';

/** The address a listen variable names; PodnetError CONFIG_INVALID when it names none (src/config checks the same). */
export function listenAddressSetting(text: string, variable: string): ListenAddress {
  const at = parseListenAddress(text);
  if (at !== undefined) return at;
  if (text === 'unix:') throw new PodnetError('CONFIG_INVALID', `${variable}=${text} names no socket path`, 'write unix:/path/to/socket');
  throw new PodnetError('CONFIG_INVALID', `${variable}=${text} is not HOST:PORT, :PORT or unix:PATH`, 'e.g. 127.0.0.1:61679 (port 0 picks a free port)');
}

export interface HttpEndpoint {
  /** Where it listens, with the real port when 0 was asked. */
  address: ListenAddress;
  close(): Promise<void>;
}

export async function startHttpEndpoint(
  at: ListenAddress,
  what: string,
  handle: (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => Promise<void> | void,
): Promise<HttpEndpoint> {
  // upstream's introspection server has 5 s read timeouts (spec §6.5); the safe server's are shorter, since a
  // request that takes longer than a second to arrive on loopback is a stalled or hostile sender
  const server = createSafeServer(handle, { what });
  server.keepAliveTimeout = 1000;
  await listenOn(server, at, what, 'another process (or another podnet ipamd) holds the address; choose another with the bind-address setting');
  const address: ListenAddress = 'path' in at ? at : { host: at.host, port: (server.address() as AddressInfo).port };
  return { address, close: () => closeServer(server) };
}

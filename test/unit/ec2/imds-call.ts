import type { IncomingMessage, ServerResponse } from 'node:http';
import type { createImdsHandler } from '../../../src/ec2/imds.js';
import { parseRequestTarget } from '../../../src/lib/index.js';

export type ImdsHandler = ReturnType<typeof createImdsHandler>;

/** One IMDS call through the handler, in process, as if it came from `from` (the source address decides the instance). */
export function imdsCall(handler: ImdsHandler, from: string, method: string, target: string, headers: Record<string, string> = {}): { status: number; body: string } {
  const req = { method, url: target, headers, socket: { remoteAddress: from } } as unknown as IncomingMessage;
  const out = { status: 0, body: '' };
  const res = {
    writeHead(status: number) {
      out.status = status;
      return res;
    },
    setHeader() {
      return res;
    },
    end(body?: string) {
      out.body = body ?? '';
      return res;
    },
  } as unknown as ServerResponse;
  handler(req, res, parseRequestTarget(target)!);
  return out;
}

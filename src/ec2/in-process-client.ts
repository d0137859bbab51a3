/**
 * An SDK EC2Client whose requests go to the emulator's action handlers in this process instead of over HTTP: the
 * SDK serializes each command to the Query form and parses the XML answer as it does for any endpoint, so EC2 clients
 * written against the SDK (applying a topology, describing a VPC) run unchanged over an in-memory state with no
 * listening socket. Used where a whole VPC is built and read back in one process (`podnet explain --scenario`).
 */
import { randomUUID } from 'node:crypto';
import { EC2Client } from '@aws-sdk/client-ec2';
import { performAction } from './in-process.js';
import { Ec2Error } from './protocol.js';
import { parseQuery } from './query.js';
import type { Ec2State } from './state.js';
import { renderError, renderResponse } from './xml.js';

/** The part of the SDK's request the handler reads: the form body (POST) or the query (GET). */
interface QueryRequest {
  body?: unknown;
  query?: Record<string, string | string[] | null>;
}

/** The SDK's HTTP handler contract, answered in process. */
class InProcessHandler {
  readonly metadata = { handlerProtocol: 'in-process' };
  constructor(private readonly state: Ec2State) {}

  async handle(request: QueryRequest): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Uint8Array } }> {
    const { status, xml } = answer(this.state, formOf(request));
    return { response: { statusCode: status, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body: new TextEncoder().encode(xml) } };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {}
}

function formOf(request: QueryRequest): URLSearchParams {
  if (typeof request.body === 'string' && request.body.trim() !== '') return new URLSearchParams(request.body);
  if (request.body instanceof Uint8Array) return new URLSearchParams(new TextDecoder().decode(request.body));
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(request.query ?? {})) for (const x of Array.isArray(v) ? v : [v ?? '']) form.append(k, x);
  return form;
}

/** One action as the HTTP endpoint runs it (without throttling or faults): its XML answer or EC2's error. */
function answer(state: Ec2State, form: URLSearchParams): { status: number; xml: string } {
  const requestId = randomUUID();
  try {
    const params = parseQuery(form);
    return { status: 200, xml: renderResponse(params.action, requestId, performAction(state, params)) };
  } catch (err) {
    if (err instanceof Ec2Error) return { status: err.status, xml: renderError(err, requestId) };
    throw err;
  }
}

/** An EC2Client for `region` whose every call runs against `state` in process. */
export function inProcessEc2Client(state: Ec2State, region: string): EC2Client {
  return new EC2Client({
    region,
    // never contacted: the handler answers every request; the SDK still wants an endpoint to sign for
    endpoint: 'http://ec2.in-process.invalid',
    credentials: { accessKeyId: 'in-process', secretAccessKey: 'in-process' },
    requestHandler: new InProcessHandler(state),
    maxAttempts: 1,
  });
}

/**
 * An SDK EKSClient whose requests go to the emulator's EKS handlers in this process instead of over HTTP (as
 * in-process-client.ts does for EC2): the SDK serializes each command to its REST-JSON request and parses the answer
 * as for any endpoint, so the topology applier creates a scenario's cluster in an in-memory state with no socket
 * (`podnet explain --scenario`). Delays default to zero there: nothing waits for a cluster to become ACTIVE.
 */
import { EKSClient } from '@aws-sdk/client-eks';
import type { EksOptions } from './eks-actions.js';
import { answerEks } from './eks-http.js';
import type { Ec2State } from './state.js';

/** The part of the SDK's HttpRequest the handler reads. */
interface RestRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  body?: unknown;
}

class InProcessEksHandler {
  readonly metadata = { handlerProtocol: 'in-process' };
  constructor(
    private readonly state: Ec2State,
    private readonly options: EksOptions,
  ) {}

  async handle(request: RestRequest): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Uint8Array } }> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(request.query ?? {})) for (const x of Array.isArray(v) ? v : [v ?? '']) query.append(k, x);
    const body = typeof request.body === 'string' ? request.body : request.body instanceof Uint8Array ? new TextDecoder().decode(request.body) : '';
    const answer = await answerEks(this.state, this.options, { method: request.method, path: request.path, query, body });
    return { response: { statusCode: answer.status, headers: answer.headers, body: new TextEncoder().encode(answer.body) } };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {}
}

/** An EKSClient for `region` whose every call runs against `state` in process. */
export function inProcessEksClient(state: Ec2State, region: string, options: EksOptions = { delayMs: 0 }): EKSClient {
  return new EKSClient({
    region,
    // never contacted: the handler answers every request; the SDK still wants an endpoint to sign for
    endpoint: 'http://eks.in-process.invalid',
    credentials: { accessKeyId: 'in-process', secretAccessKey: 'in-process' },
    requestHandler: new InProcessEksHandler(state, options),
    maxAttempts: 1,
  });
}

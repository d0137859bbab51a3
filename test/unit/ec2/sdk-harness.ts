/** Starts an emulator and an SDK client pointed at it (explicit endpoint, region, dummy credentials). */
import { EC2Client } from '@aws-sdk/client-ec2';
import { startEc2Server, type StartEc2ServerOptions } from '../../../src/ec2/index.js';

export type Emulator = Awaited<ReturnType<typeof startEc2Server>>;

export function sdkClient(endpoint: string, maxAttempts = 1): EC2Client {
  return new EC2Client({ endpoint, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts });
}

export async function startEmulator(options: StartEc2ServerOptions = {}): Promise<{ server: Emulator; ec2: EC2Client; close: () => Promise<void> }> {
  const server = await startEc2Server({ throttle: false, ...options });
  const ec2 = sdkClient(server.ec2Url);
  return { server, ec2, close: async () => { ec2.destroy(); await server.close(); } };
}

/** POSTs a raw form body (for requests the SDK cannot send). */
export async function postForm(url: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  return { status: res.status, text: await res.text() };
}

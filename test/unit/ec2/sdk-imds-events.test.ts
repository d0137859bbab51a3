import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { AssignPrivateIpAddressesCommand } from '@aws-sdk/client-ec2';
import type { MappingEvent } from '../../../src/ec2/index.js';
import { createVpcWithSubnet, launch, startEmulator } from './sdk-harness.js';

let h: Awaited<ReturnType<typeof startEmulator>>;
let v2: Awaited<ReturnType<typeof startEmulator>>;
let instanceId: string;
let primaryIp: string;
let eniId: string;

before(async () => {
  h = await startEmulator({ imds: { v1Allowed: true } });
  // A VPC in 127.0.0.0/16, so the instance's primary IP is a loopback address this test can call from.
  const { subnetId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '127.0.0.0/16', subnetCidr: '127.0.0.0/24', ipv6: false });
  const launched = await launch(h.ec2, subnetId, 't3.medium');
  ({ instanceId, eniId } = launched);
  primaryIp = launched.instance.PrivateIpAddress!;
  v2 = await startEmulator({ state: h.server.state });
});
after(async () => {
  await v2.close();
  await h.close();
});

/** GET from a chosen local address (the caller's "source IP"). */
function getFrom(url: string, localAddress: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

test("IMDS picks the instance by the caller's source address (its primary private IP)", async () => {
  const res = await getFrom(`${h.server.imdsUrl}/latest/meta-data/instance-id`, primaryIp);
  assert.deepEqual(res, { status: 200, text: instanceId });
  const stranger = await getFrom(`${h.server.imdsUrl}/latest/meta-data/instance-id`, '127.0.0.1');
  assert.equal(stranger.status, 404);
});

test('IMDS picks the instance by an instance-ID path prefix, serving the §7.4 tree', async () => {
  const base = `${h.server.imdsUrl}/${instanceId}/latest/meta-data`;
  const text = async (path: string) => (await fetch(`${base}/${path}`)).text();
  assert.equal(await text('local-ipv4'), primaryIp);
  assert.equal(await text('instance-type'), 't3.medium');
  assert.equal(await text('placement/availability-zone'), 'us-west-2a');
  const mac = await text('mac');
  assert.equal(await text('network/interfaces/macs/'), `${mac}/`);
  assert.equal(await text(`network/interfaces/macs/${mac}/interface-id`), eniId);
  assert.equal(await text(`network/interfaces/macs/${mac}/subnet-ipv4-cidr-block`), '127.0.0.0/24');
});

test('with IMDSv1 refused, a GET without a token is 401 and the v2 token flow works', async () => {
  const url = `${v2.server.imdsUrl}/${instanceId}/latest/meta-data/instance-id`;
  assert.equal((await fetch(url)).status, 401);
  const token = await (await fetch(`${v2.server.imdsUrl}/${instanceId}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21600' } })).text();
  const res = await fetch(url, { headers: { 'x-aws-ec2-metadata-token': token } });
  assert.deepEqual([res.status, await res.text()], [200, instanceId]);
});

test('the event stream starts with a snapshot, then streams each ENI change as NDJSON', async () => {
  const controller = new AbortController();
  const res = await fetch(`${h.server.ec2Url}/_podnet/events`, { signal: controller.signal });
  assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  const next = async (): Promise<MappingEvent> => {
    while (!buffered.includes('\n')) {
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buffered += decoder.decode(value, { stream: true });
    }
    const line = buffered.slice(0, buffered.indexOf('\n'));
    buffered = buffered.slice(line.length + 1);
    return JSON.parse(line) as MappingEvent;
  };
  const snapshot = await next();
  assert.equal(snapshot.type, 'snapshot');
  assert.ok(snapshot.type === 'snapshot' && snapshot.enis.some((e) => e.eniId === eniId && e.instanceId === instanceId));
  const assigned = await h.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 2 }));
  const change = await next();
  assert.equal(change.type, 'eni');
  assert.ok(change.type === 'eni');
  assert.equal(change.eni.privateIps[0], primaryIp);
  for (const a of assigned.AssignedPrivateIpAddresses!) assert.ok(change.eni.privateIps.includes(a.PrivateIpAddress!));
  controller.abort();
});

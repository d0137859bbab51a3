import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import dnsPacket, { type DecodedPacket, type Packet } from 'dns-packet';
import { AssociateVpcCidrBlockCommand, CreateVpcCommand } from '@aws-sdk/client-ec2';
import { ec2DnsSource } from '../../../src/ec2/dns-source.js';
import { replyTo, startVpcDns, type VpcDnsServer, type VpcDnsSource } from '../../../src/ec2/dns-server.js';
import { seededRandom } from '../../../src/lib/index.js';
import { inProcessEc2Client, openEc2State } from '../../../src/ec2/index.js';
import type { EksCluster } from '../../../src/vpc/index.js';
import { fakeCluster } from './dns-fixtures.js';

let clusters: EksCluster[] = [fakeCluster({ endpointPrivateAccess: true })];
const source: VpcDnsSource = {
  region: 'us-west-2',
  vpcs: () => [
    { vpcId: 'vpc-a', cidrs: ['10.0.0.0/16'] },
    // loopback stands in for a VPC whose resolver is found by its listen address
    { vpcId: 'vpc-lo', cidrs: ['127.0.0.0/24'] },
  ],
  clusters: () => clusters,
};
const host = fakeCluster().hostname;

let dns: VpcDnsServer;
/** 127.0.0.2: vpc-a's resolver (named); 127.0.0.3: vpc-lo's, derived from the address */
let inA: string;
let inLo: string;

function resolverAt(server: string): Resolver {
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([server]);
  return r;
}

function udpExchange(server: { host: string; port: number }, message: Buffer, waitMs = 1000): Promise<Buffer | undefined> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, waitMs);
    socket.on('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    });
    socket.send(message, server.port, server.host);
  });
}

function tcpExchange(server: { host: string; port: number }, packets: Packet[]): Promise<DecodedPacket[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, server.host);
    let data = Buffer.alloc(0);
    const replies: DecodedPacket[] = [];
    socket.on('connect', () => socket.write(Buffer.concat(packets.map((p) => dnsPacket.streamEncode(p)))));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      while (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        replies.push(dnsPacket.decode(data.subarray(2, 2 + data.readUInt16BE(0))));
        data = data.subarray(2 + data.readUInt16BE(0));
      }
      if (replies.length === packets.length) {
        socket.end();
        resolve(replies);
      }
    });
    socket.on('error', reject);
  });
}

const query = (name: string, type: 'A' | 'AAAA' | 'PTR' = 'A', id = 1): Packet => ({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });
const rcodeOf = (p: DecodedPacket) => (p as DecodedPacket & { rcode: string }).rcode;

before(async () => {
  dns = await startVpcDns({
    listen: [
      { host: '127.0.0.2', port: 0, vpcId: 'vpc-a' },
      { host: '127.0.0.3', port: 0 },
    ],
    source,
    log: () => {},
  });
  const [a, lo] = dns.listeners;
  inA = `127.0.0.2:${a!.port}`;
  inLo = `127.0.0.3:${lo!.port}`;
});
after(() => dns.close());

describe('the VPC DNS server over UDP and TCP', () => {
  test('a private name resolves in its VPC with TTL 60 s; the listener without vpcId serves the VPC holding its address', async () => {
    assert.deepEqual(await resolverAt(inA).resolve4('ip-10-0-16-4.us-west-2.compute.internal', { ttl: true }), [{ address: '10.0.16.4', ttl: 60 }]);
    assert.deepEqual(await resolverAt(inLo).resolve4('ip-127-0-0-9.us-west-2.compute.internal'), ['127.0.0.9']);
    await assert.rejects(resolverAt(inLo).resolve4('ip-10-0-16-4.us-west-2.compute.internal'), { code: 'ENOTFOUND' });
  });

  test('the cluster endpoint answers by the VPC of the listener, TTL 5 s, and follows the cluster source', async () => {
    assert.deepEqual(await resolverAt(inA).resolve4(host, { ttl: true }), [{ address: '10.0.16.20', ttl: 5 }, { address: '10.0.32.20', ttl: 5 }]);
    assert.deepEqual(await resolverAt(inLo).resolve4(host), ['203.0.113.50']);
    clusters = [fakeCluster({ endpointPrivateAccess: false })];
    try {
      assert.deepEqual(await resolverAt(inA).resolve4(host), ['203.0.113.50']);
    } finally {
      clusters = [fakeCluster({ endpointPrivateAccess: true })];
    }
  });

  test("PTR, AAAA without records, NXDOMAIN, and the service names at the resolver's own address", async () => {
    assert.deepEqual(await resolverAt(inA).reverse('10.0.16.4'), ['ip-10-0-16-4.us-west-2.compute.internal']);
    await assert.rejects(resolverAt(inA).resolve6(host), { code: 'ENODATA' });
    await assert.rejects(resolverAt(inA).resolve4('example.com'), { code: 'ENOTFOUND' });
    assert.deepEqual(await resolverAt(inA).resolve4('ec2.us-west-2.amazonaws.com'), ['127.0.0.2']);
    assert.deepEqual(await resolverAt(inLo).resolve4('eks.us-west-2.amazonaws.com'), ['127.0.0.3']);
  });

  test('TCP: several length-prefixed queries on one connection, each answered in order', async () => {
    const [first, second] = await tcpExchange(dns.listeners[0]!, [query(host, 'A', 41), query('nothing.example', 'A', 42)]);
    assert.equal(first!.id, 41);
    assert.deepEqual(first!.answers?.map((a) => (a as { data?: unknown }).data), ['10.0.16.20', '10.0.32.20']);
    assert.equal(second!.id, 42);
    assert.equal(rcodeOf(second!), 'NXDOMAIN');
  });

  test('an answer too big for UDP is truncated; the resolver asks again over TCP and gets all of it', async () => {
    const enis = Array.from({ length: 40 }, (_, i) => ({ eniId: `eni-${i}`, subnetId: 'subnet-1', privateIp: `10.0.1.${i + 1}` }));
    clusters = [fakeCluster({ endpointPrivateAccess: true, enis })];
    try {
      const udp = dnsPacket.decode((await udpExchange(dns.listeners[0]!, dnsPacket.encode(query(host))))!);
      assert.equal(udp.flag_tc, true);
      assert.equal(udp.answers?.length, 0);
      assert.equal((await resolverAt(inA).resolve4(host)).length, 40);
    } finally {
      clusters = [fakeCluster({ endpointPrivateAccess: true })];
    }
  });

  test('EDNS: a query with OPT gets OPT back', async () => {
    const withOpt: Packet = { ...query(host), additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] };
    const reply = dnsPacket.decode((await udpExchange(dns.listeners[0]!, dnsPacket.encode(withOpt)))!);
    assert.equal(reply.answers?.length, 2);
    assert.deepEqual(reply.additionals?.map((a) => a.type), ['OPT']);
  });

  test('malformed datagrams and responses get no reply, and the server keeps answering', async () => {
    for (const junk of [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.alloc(12, 0xff), Buffer.from('GET / HTTP/1.1\r\n\r\n')]) {
      assert.equal(await udpExchange(dns.listeners[0]!, junk, 200), undefined);
    }
    const response = dnsPacket.encode({ type: 'response', id: 9, questions: [{ name: host, type: 'A', class: 'IN' }] });
    assert.equal(await udpExchange(dns.listeners[0]!, response, 200), undefined);
    assert.equal((await resolverAt(inA).resolve4(host)).length, 2);
  });

  test('FORMERR for a label holding a dot, a name outside DNS grammar, or two questions; NOTIMP for another opcode', async () => {
    // id 7, RD, one question: the single label "a.b", then "example", type A, class IN
    const dotted = Buffer.concat([Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from('\x03a.b\x07example\x00', 'latin1'), Buffer.from([0, 1, 0, 1])]);
    const replyDotted = dnsPacket.decode((await udpExchange(dns.listeners[0]!, dotted))!);
    assert.equal(replyDotted.id, 7);
    assert.equal(rcodeOf(replyDotted), 'FORMERR');
    const badName = dnsPacket.decode((await udpExchange(dns.listeners[0]!, dnsPacket.encode(query('bad name.example'))))!);
    assert.equal(rcodeOf(badName), 'FORMERR');
    const two = dnsPacket.encode({ ...query(host), questions: [{ name: host, type: 'A' }, { name: host, type: 'AAAA' }] });
    assert.equal(rcodeOf(dnsPacket.decode((await udpExchange(dns.listeners[0]!, two))!)), 'FORMERR');
    const status = Buffer.from(dnsPacket.encode(query(host)));
    status.writeUInt16BE(0x1100, 2); // opcode 2 (STATUS), RD
    assert.equal(rcodeOf(dnsPacket.decode((await udpExchange(dns.listeners[0]!, status))!)), 'NOTIMP');
  });

  test('a TCP stream that is not DNS is closed; the listener still serves the next client', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect(dns.listeners[0]!.port, '127.0.0.2');
      socket.on('connect', () => socket.write(Buffer.from([0, 3, 1, 2, 3])));
      socket.on('close', () => resolve(true));
      socket.on('error', () => {});
    });
    assert.equal(closed, true);
    const [reply] = await tcpExchange(dns.listeners[0]!, [query(host)]);
    assert.equal(reply!.answers?.length, 2);
  });

  test('a listen address that is taken is refused with the address named', async () => {
    await assert.rejects(startVpcDns({ listen: [{ host: '127.0.0.2', port: dns.listeners[0]!.port }], source }), (err: Error) => {
      assert.match(err.message, new RegExp(`the VPC DNS cannot listen on 127\\.0\\.0\\.2:${dns.listeners[0]!.port} \\(UDP\\): EADDRINUSE`));
      return true;
    });
  });
});

test('no message, however mangled, makes replyTo throw: each gets a reply or none', () => {
  const random = seededRandom(17);
  const byte = () => Math.floor(random() * 256);
  const seeds = [query(host), query('ip-10-0-16-4.us-west-2.compute.internal', 'AAAA'), query('4.16.0.10.in-addr.arpa', 'PTR')].map((p) => dnsPacket.encode(p));
  let replies = 0;
  for (let i = 0; i < 3000; i++) {
    const message = Buffer.from(seeds[i % seeds.length]!);
    // flip a few bytes, and sometimes cut or extend the message
    for (let n = 1 + Math.floor(random() * 4); n > 0; n--) message[Math.floor(random() * message.length)] = byte();
    const cut = random() < 0.3 ? message.subarray(0, Math.floor(random() * message.length)) : random() < 0.3 ? Buffer.concat([message, Buffer.from([byte(), byte(), byte()])]) : message;
    for (const transport of ['udp', 'tcp'] as const) {
      const reply = replyTo(cut, { host: '127.0.0.2', port: 53, vpcId: 'vpc-a' }, source, transport, () => {});
      if (reply) {
        replies++;
        assert.doesNotThrow(() => dnsPacket.decode(reply));
        if (transport === 'udp') assert.ok(reply.length <= 1232);
      }
    }
  }
  assert.ok(replies > 0);
});

describe("the VPC DNS over the emulator's state", () => {
  test("a VPC's blocks, a secondary one associated after the resolver started included, are read at each query", async () => {
    const state = openEc2State({ region: 'eu-west-1' });
    const ec2 = await inProcessEc2Client(state, 'eu-west-1');
    const server = await startVpcDns({ listen: [{ host: '127.0.0.4', port: 0 }], source: ec2DnsSource(state, { serviceAddress: '127.0.0.1' }), log: () => {} });
    try {
      const r = resolverAt(`127.0.0.4:${server.listeners[0]!.port}`);
      // loopback is in no VPC yet: the listener serves none
      await assert.rejects(r.resolve4('ip-127-0-0-9.eu-west-1.compute.internal'), { code: 'ENOTFOUND' });
      const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
      await ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '127.0.0.0/24' }));
      assert.deepEqual(await r.resolve4('ip-127-0-0-9.eu-west-1.compute.internal'), ['127.0.0.9']);
      assert.deepEqual(await r.resolve4('ip-10-0-3-4.eu-west-1.compute.internal'), ['10.0.3.4']);
      assert.deepEqual(await r.resolve4('ec2.eu-west-1.amazonaws.com'), ['127.0.0.1']);
    } finally {
      await server.close();
      ec2.destroy();
      state.close();
    }
  });
});

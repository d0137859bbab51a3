/**
 * AmazonProvidedDNS on the wire: a DNS server over UDP and TCP on each listen address, answering from the
 * emulator's state through dns-answer.ts. dns-packet reads and writes the messages; this file only frames TCP
 * (RFC 1035 §4.2.2's two-byte length) and decides what to do with a message that is not a good query.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv4, isIPv6, type Server, type Socket } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet } from 'dns-packet';
import { PodnetError, formatListenAddress } from '../lib/index.js';
import type { EksCluster } from '../vpc/index.js';
import { answerQuestion, vpcOfAddress, type DnsRcode, type VpcDnsView } from './dns-answer.js';

export interface DnsListen {
  host: string;
  /** 0: a free port (the same one for UDP and TCP) */
  port: number;
  /**
   * The VPC whose resolver this listener is. Default: the VPC whose blocks hold `host`, looked up at each query (the
   * resolver at 10.0.0.2 serves 10.0.0.0/16). Tests on loopback, which is in no VPC, name the VPC here.
   */
  vpcId?: string;
}

/** What the resolver reads at each query. */
export interface VpcDnsSource {
  region: string;
  vpcs(): VpcDnsView['vpcs'];
  clusters(): readonly EksCluster[];
  /**
   * The emulator's API address, which `ec2.<region>.amazonaws.com` and `eks.<region>.amazonaws.com` resolve to.
   * Undefined, a wildcard (0.0.0.0) or not an IPv4 address: the address the query arrived on (the emulator listens
   * there too); when that is IPv6 as well, the names are unknown.
   */
  serviceAddress?: string;
}

export interface VpcDnsOptions {
  listen: readonly DnsListen[];
  source: VpcDnsSource;
  /** Where failures to answer (SERVFAIL) are reported. Default: stderr. */
  log?: (line: string) => void;
}

export interface VpcDnsServer {
  /** the listeners as bound (ports filled in) */
  listeners: DnsListen[];
  close(): Promise<void>;
}

const RCODES: Record<DnsRcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
/** RFC 1035's limit for a UDP answer to a query without EDNS. */
const UDP_PLAIN_LIMIT = 512;
/** What the server offers and accepts with EDNS: the size DNS flag day 2020 settled on (no fragments). */
const UDP_EDNS_LIMIT = 1232;
const OPCODE_BITS = 0x7800;
/** A TCP client that sends nothing for this long is disconnected (RFC 7766 suggests seconds, not minutes). */
const TCP_IDLE_MS = 10_000;

function isWildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::';
}

/**
 * The reply to one message, or undefined when none is due: a message dns-packet cannot read, or a response (a
 * server that answered answers could be made to loop with another). `transport` sets the size limit.
 */
export function replyTo(message: Buffer, listener: DnsListen, source: VpcDnsSource, transport: 'udp' | 'tcp', log: (line: string) => void): Buffer | undefined {
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(message);
  } catch {
    return undefined;
  }
  if (query.type !== 'query') return undefined;
  const edns = (query.additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT');
  const reply = (rcode: DnsRcode, answers: Answer[] = []): Buffer => {
    const flags = ((query.flags ?? 0) & (OPCODE_BITS | dnsPacket.RECURSION_DESIRED)) | dnsPacket.RECURSION_AVAILABLE | RCODES[rcode];
    const additionals: Answer[] = edns ? [{ type: 'OPT', name: '.', udpPayloadSize: UDP_EDNS_LIMIT, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [];
    const packet: Packet = { type: 'response', id: query.id, flags, questions: query.questions, answers, additionals };
    let encoded: Buffer;
    try {
      encoded = dnsPacket.encode(packet);
    } catch {
      // a question dns-packet read but cannot write back (it is refused anyway): the reply names none
      packet.questions = [];
      encoded = dnsPacket.encode(packet);
    }
    const limit = edns ? Math.max(UDP_PLAIN_LIMIT, Math.min(edns.udpPayloadSize, UDP_EDNS_LIMIT)) : UDP_PLAIN_LIMIT;
    if (transport === 'tcp' || encoded.length <= limit) return encoded;
    // too big for this datagram: the question alone with TC set, and the client asks again over TCP
    return dnsPacket.encode({ ...packet, flags: flags | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
  };

  if ((query as { opcode?: string }).opcode !== 'QUERY') return reply('NOTIMP');
  const questions = query.questions ?? [];
  // one question per query is what every resolver sends; BIND and Unbound refuse more the same way
  if (questions.length !== 1) return reply('FORMERR');
  const question = questions[0]!;
  if (!nameReadsAsSent(message, question.name)) return reply('FORMERR');
  if (question.class !== 'IN') return reply('REFUSED');
  try {
    const vpcs = source.vpcs();
    const queryVpcId = listener.vpcId ?? vpcOfAddress(vpcs, listener.host);
    const serviceAddress = [source.serviceAddress, listener.host].find((a) => a !== undefined && isIPv4(a) && !isWildcard(a)) ?? null;
    const view: VpcDnsView = { region: source.region, vpcs, clusters: source.clusters(), serviceAddress };
    const answer = answerQuestion(view, queryVpcId, { name: question.name, type: question.type });
    return reply(answer.rcode, answer.answers.map((r) => ({ name: r.name, type: r.type, ttl: r.ttl, class: 'IN', data: r.data })));
  } catch (err) {
    log(`dns: answering ${question.type} ${question.name} failed: ${err instanceof Error ? err.message : String(err)}`);
    return reply('SERVFAIL');
  }
}

/**
 * Whether the question's name, as dns-packet gives it back (labels joined by dots), is the name the message
 * carries: a label holding a dot (`a.b` as one label) reads as two labels, which would answer a name nobody asked.
 * The name is encoded again and compared with the message's bytes after the header (a question's name has nothing
 * before it to point back to, so it is never compressed in a good query).
 */
function nameReadsAsSent(message: Buffer, name: string): boolean {
  let encoded: Buffer;
  try {
    encoded = dnsPacket.encode({ type: 'query', id: 0, questions: [{ name, type: 'A', class: 'IN' }] });
  } catch {
    return false;
  }
  const nameBytes = encoded.subarray(12, encoded.length - 4);
  return message.subarray(12, 12 + nameBytes.length).equals(nameBytes);
}

function bindUdp(listener: DnsListen, onMessage: (msg: Buffer, from: { address: string; port: number }, socket: UdpSocket) => void): Promise<UdpSocket> {
  const socket = createSocket({ type: isIPv6(listener.host) ? 'udp6' : 'udp4' });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(listener.port, listener.host, () => {
      socket.off('error', reject);
      // a send that fails (the client went away) is not the server's failure
      socket.on('error', () => {});
      socket.on('message', (msg, from) => onMessage(msg, from, socket));
      resolve(socket);
    });
  });
}

function listenTcp(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeUdp(socket: UdpSocket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

/** Starts the resolver on every listen address (UDP and TCP on the same port). */
export async function startVpcDns(options: VpcDnsOptions): Promise<VpcDnsServer> {
  const log = options.log ?? ((line: string) => void process.stderr.write(line + '\n'));
  const udpSockets: UdpSocket[] = [];
  const tcpServers: Server[] = [];
  const connections = new Set<Socket>();
  const bound: DnsListen[] = [];

  const closeAll = async () => {
    for (const c of connections) c.destroy();
    await Promise.all([...udpSockets.map(closeUdp), ...tcpServers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))]);
  };

  try {
    for (const requested of options.listen) {
      if (!isIPv4(requested.host) && !isIPv6(requested.host)) {
        throw new PodnetError('USAGE', `the VPC DNS cannot listen on ${formatListenAddress(requested)}: not an IP address`, 'give an address such as 10.0.0.2:53 (the VPC base + 2)');
      }
      // port 0: the free port UDP gets is taken for TCP too; another process may hold it for TCP, so try a few
      for (let attempt = 0; ; attempt++) {
        const listener: DnsListen = { ...requested };
        let udp: UdpSocket;
        try {
          udp = await bindUdp(listener, (msg, from, socket) => {
            const answer = replyTo(msg, listener, options.source, 'udp', log);
            if (answer) socket.send(answer, from.port, from.address);
          });
        } catch (err) {
          throw listenError(requested, 'UDP', err);
        }
        listener.port = udp.address().port;
        const tcp = createServer((socket) => serveTcp(socket, listener, options.source, log, connections));
        try {
          await listenTcp(tcp, listener.host, listener.port);
        } catch (err) {
          await closeUdp(udp);
          if (requested.port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) continue;
          throw listenError(requested, 'TCP', err);
        }
        udpSockets.push(udp);
        tcpServers.push(tcp);
        bound.push(listener);
        break;
      }
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  let closed: Promise<void> | undefined;
  return {
    listeners: bound,
    close: () => (closed ??= closeAll()),
  };
}

function listenError(at: DnsListen, transport: string, err: unknown): PodnetError {
  const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  return new PodnetError('FAILED', `the VPC DNS cannot listen on ${formatListenAddress(at)} (${transport}): ${code}`, 'choose a free port, or an address this host (or namespace) has', { cause: err });
}

/** One TCP connection: length-prefixed queries in, length-prefixed replies out, until the client closes or idles. */
function serveTcp(socket: Socket, listener: DnsListen, source: VpcDnsSource, log: (line: string) => void, connections: Set<Socket>): void {
  connections.add(socket);
  socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
  socket.on('error', () => {});
  socket.on('close', () => connections.delete(socket));
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const length = pending.readUInt16BE(0);
      if (pending.length < 2 + length) return;
      const message = pending.subarray(2, 2 + length);
      pending = pending.subarray(2 + length);
      const answer = replyTo(message, listener, source, 'tcp', log);
      // a message that is not DNS: nothing sensible can follow it on this stream
      if (!answer) return void socket.destroy();
      const framed = Buffer.alloc(2 + answer.length);
      framed.writeUInt16BE(answer.length, 0);
      answer.copy(framed, 2);
      socket.write(framed);
    }
  });
}

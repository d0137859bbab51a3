/**
 * The echo service every lab endpoint runs (internet hosts, peer hosts, and on demand nodes and pods) and the
 * probe client: a small self-contained Node script, written into the state directory at `lab up` so it starts in
 * tens of milliseconds inside any namespace. The server answers each TCP connection and each UDP datagram with
 * one JSON line naming the source address and port it saw; the client prints one JSON line with the outcome.
 */
import { chmodSync, writeFileSync } from 'node:fs';

export const echoScript = String.raw`// podnet lab echo service and probe client (written by podnet lab up)
import net from 'node:net';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
const [mode, ...args] = process.argv.slice(2);
const answer = (by, proto, address, port) => JSON.stringify({ by, proto, saw: address.replace(/^::ffff:/, ''), sawPort: port }) + '\n';
if (mode === 'serve') {
  const [port, by, readyFile] = args;
  let ready = 0;
  const up = () => { if (++ready === 2 && readyFile) writeFileSync(readyFile, String(process.pid)); };
  net.createServer((s) => { s.on('error', () => {}); s.end(answer(by, 'tcp', s.remoteAddress, s.remotePort)); }).listen(Number(port), '0.0.0.0', up);
  const u = dgram.createSocket('udp4');
  // a pod can forge a datagram from port 0, which send refuses by throwing: such a datagram gets no answer
  u.on('error', () => {});
  u.on('message', (_m, r) => { try { u.send(answer(by, 'udp', r.address, r.port), r.port, r.address, () => {}); } catch {} });
  u.bind(Number(port), '0.0.0.0', up);
} else if (mode === 'probe') {
  const [proto, host, port, timeoutMs] = args;
  const done = (result) => { process.stdout.write(JSON.stringify(result) + '\n'); process.exit(0); };
  const timer = setTimeout(() => done({ delivered: false, error: 'timed out after ' + timeoutMs + ' ms' }), Number(timeoutMs));
  const parse = (text, local) => { clearTimeout(timer); try { done({ delivered: true, ...JSON.parse(text), ...local }); } catch { done({ delivered: false, error: 'unexpected answer ' + JSON.stringify(text) }); } };
  if (proto === 'tcp') {
    let text = '';
    const s = net.connect({ host, port: Number(port) });
    let local = {};
    s.on('connect', () => { local = { from: s.localAddress, fromPort: s.localPort }; });
    s.setEncoding('utf8').on('data', (d) => (text += d)).on('end', () => parse(text, local));
    s.on('error', (e) => { clearTimeout(timer); done({ delivered: false, error: e.code || e.message }); });
  } else {
    const u = dgram.createSocket('udp4');
    u.on('message', (m) => parse(m.toString('utf8'), { from: u.address().address, fromPort: u.address().port }));
    u.on('error', (e) => { clearTimeout(timer); done({ delivered: false, error: e.code || e.message }); });
    u.connect(Number(port), host, () => u.send('probe'));
  }
} else {
  process.stderr.write('usage: echo.mjs serve PORT LABEL [READY_FILE] | probe tcp|udp HOST PORT TIMEOUT_MS\n');
  process.exit(2);
}
`;

export function writeEchoScript(path: string): void {
  writeFileSync(path, echoScript);
  chmodSync(path, 0o644);
}

/** One probe's outcome as the client reports it. */
export interface EchoAnswer {
  delivered: boolean;
  /** the source address and port the receiver saw */
  saw?: string;
  sawPort?: number;
  /** the sender's own socket address (before any translation) */
  from?: string;
  fromPort?: number;
  by?: string;
  error?: string;
}

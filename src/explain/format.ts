/** An Explanation as sentences a platform engineer pastes into a ticket. */
import { EXPLAIN_CODES, type ExplainCode } from './codes.js';
import type { ExplainHop, Explanation, PacketHeader } from './explanation.js';

const show = (h: PacketHeader): string => `${h.source}${typeof h.sourcePort === 'number' ? `:${h.sourcePort}` : ''} → ${h.destination}${typeof h.destinationPort === 'number' ? `:${h.destinationPort}` : ''}`;

function hopLines(hops: ExplainHop[]): string[] {
  return hops.map((h, i) => {
    const change = h.before && h.after ? ` [${show(h.before)} becomes ${show(h.after)}]` : '';
    const drop = h.dropped ? ' DROPPED here.' : '';
    const rule = h.matched === h.action || h.element === 'destination' ? '' : `; matched: ${h.matched}`;
    return `  ${i + 1}. ${h.element} ${h.id}: ${h.action}${rule}${change}${drop}`;
  });
}

const portClassText: Record<string, string> = {
  original: "the sender's own source port",
  'random-fully': 'a source port picked at random by the node (SNAT --random-fully)',
  random: 'a source port picked by hash by the node (SNAT --random)',
  'kept-if-free': "the sender's port where free (SNAT without a port flag)",
  'nat-gateway': "a source port chosen by the NAT gateway",
};

export function formatExplanation(e: Explanation): string {
  const what = `${e.query.protocol.toUpperCase()}${e.query.port !== undefined && e.query.protocol !== 'icmp' ? ` port ${e.query.port}` : ''}`;
  const ends = `${e.from.name} (${e.from.kind} ${e.from.address}) → ${e.to.name} (${e.to.kind} ${e.to.address}), ${what}`;
  const lines: string[] = [];
  const verdict = e.verdict === 'delivered' ? 'DELIVERED' : e.verdict === 'dropped' ? 'DROPPED' : 'UNKNOWN';
  const dropHop = [...e.forward, ...e.return].find((h) => h.dropped);
  const where = dropHop ? ` at ${dropHop.element} ${dropHop.id}${e.return.includes(dropHop) ? ' (the reply)' : ''}` : '';
  lines.push(`${verdict}${where}: ${ends}${e.simulated ? ' (simulated: addresses from podnet\'s simulation of the scenario, not a running node)' : ''}.`);
  if (e.sourceSeen) {
    const translators = e.forward.filter((h) => h.before && h.after && h.before.source !== h.after.source).map((h) => `${h.element === 'node-rules' ? `${h.id}'s SNAT rule` : `${h.element} ${h.id}`} (to ${h.after!.source})`);
    const translated = e.sourceSeen === e.from.address ? 'its own address, untranslated' : `not ${e.from.address}: translated by ${translators.join(', then ') || 'the path'}`;
    const port = e.query.protocol === 'icmp' ? '' : `, with ${portClassText[e.sourcePortClass ?? 'original']}`;
    lines.push(`${e.to.name} sees the connection from ${e.sourceSeen} (${translated})${port}.`);
  }
  const why = e.codes.filter((c): c is ExplainCode => c in EXPLAIN_CODES).map((c) => `${c}: ${EXPLAIN_CODES[c]}`);
  if (why.length > 0) lines.push('Why:', ...why.map((w) => `  - ${w}`));
  if (e.forward.length > 0) lines.push('Forward path:', ...hopLines(e.forward));
  if (e.return.length > 0) lines.push('Return path:', ...hopLines(e.return));
  if (e.reason) lines.push(`${e.verdict === 'unknown' ? 'Cannot decide' : 'Dropped'}: ${e.reason}.`);
  if (e.fix) lines.push(`Fix: ${e.fix}.`);
  for (const w of e.warnings ?? []) lines.push(`warning: ${w}.`);
  return `${lines.join('\n')}\n`;
}

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const pages = ['README.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

/**
 * Markdown with fenced code blocks blanked out (line numbers kept), and with inline code spans too when asked:
 * links in code are examples, not links, while a heading keeps its code text.
 */
function withoutCode(markdown: string, inlineToo: boolean): string {
  let fenced = false;
  return markdown
    .split('\n')
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) {
        fenced = !fenced;
        return '';
      }
      if (fenced) return '';
      return inlineToo ? line.replace(/`[^`]*`/g, (m) => ' '.repeat(m.length)) : line;
    })
    .join('\n');
}

/** GitHub's heading anchors: the rendered text lower-cased, punctuation dropped, spaces as '-', repeats suffixed -1, -2, … */
function headingSlugs(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const slugs = new Set<string>();
  for (const line of withoutCode(markdown, false).split('\n')) {
    const heading = line.match(/^#{1,6}\s+(.*?)\s*#*\s*$/)?.[1];
    if (heading === undefined) continue;
    const text = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images render as their text
      .replace(/<[^>]+>/g, '')
      .replace(/[*`]/g, '');
    const base = text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

interface Link {
  page: string;
  line: number;
  target: string;
}

function linksOf(page: string): Link[] {
  const text = withoutCode(readFileSync(join(repoRoot, page), 'utf8'), true);
  const links: Link[] = [];
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ page, line: i + 1, target: m[1]! });
    const ref = line.match(/^\s*\[[^\]]+\]:\s*(\S+)/);
    if (ref) links.push({ page, line: i + 1, target: ref[1]! });
  });
  return links;
}

/** Why a relative link or #anchor does not resolve, or null when it does; links with a scheme (https:, mailto:) are not checked. */
function brokenReason(link: Link): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) return null;
  const [pathPart, anchor] = link.target.split('#', 2) as [string, string | undefined];
  const target = pathPart === '' ? join(repoRoot, link.page) : resolve(dirname(join(repoRoot, link.page)), decodeURIComponent(pathPart));
  if (!existsSync(target)) return `${relative(repoRoot, target)} does not exist`;
  if (anchor === undefined || anchor === '') return null;
  if (!target.endsWith('.md')) return `#${anchor} points into ${relative(repoRoot, target)}, which is not a markdown page`;
  const slugs = headingSlugs(readFileSync(target, 'utf8'));
  return slugs.has(decodeURIComponent(anchor)) ? null : `${relative(repoRoot, target)} has no heading with anchor #${anchor}`;
}

test('every relative link and #anchor in README.md and docs/*.md resolves', () => {
  const links = pages.flatMap(linksOf);
  assert.ok(links.length > 15, `found only ${links.length} links: the link reader is broken`);
  const broken = links.flatMap((l) => {
    const reason = brokenReason(l);
    return reason ? [`${l.page}:${l.line}: (${l.target}) — ${reason}`] : [];
  });
  assert.deepEqual(broken, []);
});

test('heading anchors are GitHub-style slugs', () => {
  const slugs = headingSlugs(
    ['# The VPC lab: `podnet lab` and `podnet demo`', '## Tests', '## Tests', '### IPv4/IPv6 — [links](x.md) and *emphasis*', '```', '# not a heading', '```'].join('\n'),
  );
  assert.deepEqual([...slugs], ['the-vpc-lab-podnet-lab-and-podnet-demo', 'tests', 'tests-1', 'ipv4ipv6--links-and-emphasis']);
});

test('a link to a missing page or anchor is reported, an external one is not checked', () => {
  assert.match(brokenReason({ page: 'README.md', line: 1, target: 'docs/no-such-page.md' }) ?? '', /docs\/no-such-page\.md does not exist/);
  assert.match(brokenReason({ page: 'README.md', line: 1, target: 'docs/testing.md#no-such-heading' }) ?? '', /has no heading with anchor #no-such-heading/);
  assert.equal(brokenReason({ page: 'README.md', line: 1, target: 'docs/testing.md#tests' }), null);
  assert.equal(brokenReason({ page: 'docs/cli.md', line: 1, target: 'https://example.com/x#y' }), null);
});

/**
 * Content negotiation: the media ranges of an Accept header, as kube-apiserver reads them (type, parameters such
 * as `as=Table;g=meta.k8s.io;v=v1`, and q). Pure.
 */

/** One entry of an Accept header: `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`. */
export interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

/** The Accept header's media ranges, most preferred first (by q, then by order); `*\/*` when the header is empty. */
export function parseAccept(accept: string): MediaRange[] {
  const ranges = accept
    .split(',')
    .map((part, index) => {
      const [type = '', ...rest] = part.split(';').map((s) => s.trim());
      const params: Record<string, string> = {};
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
      }
      const q = params.q === undefined ? 1 : Number(params.q);
      delete params.q;
      return { type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0, index };
    })
    .filter((r) => r.type !== '' && r.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  if (ranges.length === 0) return [{ type: '*/*', params: {}, q: 1 }];
  return ranges.map(({ type, params, q }) => ({ type, params, q }));
}

/** Whether a media range admits JSON (`application/json`, `application/*`, `*\/*`). */
export function admitsJson(range: MediaRange): boolean {
  return range.type === 'application/json' || range.type === 'application/*' || range.type === '*/*';
}

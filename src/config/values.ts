/**
 * Parsers that accept exactly what upstream's Go code accepts (spec §1 "Parsing rules"), so a value podnet
 * takes is a value aws-node takes, and a value podnet calls malformed is one aws-node would log and replace.
 * Each returns undefined for text Go would refuse.
 */

const goBools: ReadonlyMap<string, boolean> = new Map([
  ...['1', 't', 'T', 'TRUE', 'true', 'True'].map((s) => [s, true] as const),
  ...['0', 'f', 'F', 'FALSE', 'false', 'False'].map((s) => [s, false] as const),
]);

/** Go strconv.ParseBool: only these twelve spellings; "yes", "on" and " true" are errors. */
export function parseGoBool(text: string): boolean | undefined {
  return goBools.get(text);
}

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/** Go strconv.Atoi: optional sign and decimal digits, no spaces, no underscores, within int64. */
export function parseAtoi(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = BigInt(text);
  return n < int64Min || n > int64Max ? undefined : Number(n);
}

/**
 * Go strconv.ParseInt(text, 0, 64): the base comes from the prefix (0x/0X hex, 0o/0O or a bare leading 0 octal,
 * 0b/0B binary, otherwise decimal), and underscores may separate digits (or follow the prefix).
 * Used for AWS_VPC_K8S_CNI_CONNMARK (spec §1).
 */
export function parseGoIntBase0(text: string): number | undefined {
  const sign = text.startsWith('-') ? -1n : 1n;
  let body = text.startsWith('-') || text.startsWith('+') ? text.slice(1) : text;
  let radix = 10;
  let prefixed = false;
  const lower = body.toLowerCase();
  if (lower.startsWith('0x')) [radix, body, prefixed] = [16, body.slice(2), true];
  else if (lower.startsWith('0o')) [radix, body, prefixed] = [8, body.slice(2), true];
  else if (lower.startsWith('0b')) [radix, body, prefixed] = [2, body.slice(2), true];
  else if (body.length > 1 && body.startsWith('0')) [radix, body, prefixed] = [8, body.slice(1), true];
  // underscores: only between digits, or directly after a base prefix
  const underscoresOk = !/__/.test(body) && !body.endsWith('_') && (prefixed || !body.startsWith('_'));
  const digits = body.replaceAll('_', '');
  const digitPattern = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^\d+$/, 16: /^[\da-fA-F]+$/ }[radix as 2 | 8 | 10 | 16];
  if (!underscoresOk || !digitPattern.test(digits)) return undefined;
  const prefix = { 2: '0b', 8: '0o', 10: '', 16: '0x' }[radix as 2 | 8 | 10 | 16];
  const n = sign * BigInt(prefix + digits);
  return n < int64Min || n > int64Max ? undefined : Number(n);
}

/** Go json.Unmarshal into map[string]string: a JSON object whose values are all strings. */
export function parseStringMap(text: string): Record<string, string> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null) return {}; // Go leaves the map empty for JSON null
  if (typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.some(([, v]) => typeof v !== 'string')) return undefined;
  return Object.fromEntries(entries) as Record<string, string>;
}

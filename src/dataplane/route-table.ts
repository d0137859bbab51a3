/**
 * A Linux routing table, one way everywhere: its number. The kernel's main table is 254; ip prints and takes the
 * names of its reserved tables, so text is made here once for ip ({@link tableName}) and read here once from its
 * output ({@link parseTable}).
 */
export type RouteTable = number;

/** The kernel's main table (RT_TABLE_MAIN). */
export const MAIN_TABLE: RouteTable = 254;

/** The tables ip names in its output and accepts by name (iproute2's rt_tables defaults). */
const namedTables = new Map<string, RouteTable>([['default', 253], ['main', MAIN_TABLE], ['local', 255]]);

/** The word ip takes and prints for a table: `main` for 254, else its number. */
export function tableName(t: RouteTable): string {
  return t === MAIN_TABLE ? 'main' : String(t);
}

/** A table as `ip -j` prints it (`main`, `local`, `1000`; absent means main), as its number. */
export function parseTable(text: string | undefined): RouteTable {
  if (text === undefined) return MAIN_TABLE;
  const named = namedTables.get(text);
  if (named !== undefined) return named;
  return /^\d+$/.test(text) ? Number(text) : MAIN_TABLE;
}

/**
 * Whether a pod's table from ipamd means main: 254, and 1 too, which upstream's `deviceNumber+1` gives the primary
 * ENI in old records (spec §3.4).
 */
export function isMainTable(t: RouteTable): boolean {
  return t === MAIN_TABLE || t === 1;
}

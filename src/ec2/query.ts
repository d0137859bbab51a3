/**
 * The EC2 Query protocol's request side: a reader over form-encoded parameters as @aws-sdk/client-ec2 sends them
 * (`Action=…&Version=2016-11-15&PrivateIpAddress.1=…&Filter.1.Name=…&Filter.1.Value.1=…`), with EC2's error codes.
 */
import { Ec2Error, type Ec2Params } from './protocol.js';

export const EC2_API_VERSION = '2016-11-15';

/**
 * Limits on one request. EC2 documents filter limits per action — DescribeInstances, for one, takes at most 200
 * values per filter — and answers FilterLimitExceeded ("The request uses too many filters or too many filter
 * values"). The emulator applies 50 filters per request and 200 values per filter to every action, and refuses a
 * request with more than 25,000 parameters (50 × 200 filter values and the rest fit; a flood of 10,000 filters
 * still gets FilterLimitExceeded) before reading any of them.
 */
export const MAX_FILTERS = 50;
export const MAX_FILTER_VALUES = 200;
export const MAX_QUERY_PARAMETERS = 25_000;

/** The 1-based indexes found under one `Name.` head: as list items (`Name.3`) and as structures (`Name.3.X`). */
interface IndexSet {
  leaf: Set<number>;
  struct: Set<number>;
  /** A key with index 0, which EC2 refuses (lists start at 1). */
  zeroKey?: string;
}

/**
 * Every list head of a request, read in one pass over its keys: `Filter.2.Value.1` records leaf 1 under
 * `Filter.2.Value.` and struct 2 under `Filter.`. Readers then find a list's indexes without scanning every key, so
 * a request costs time linear in its size however many lists it holds.
 */
function indexLists(keys: Iterable<string>): Map<string, IndexSet> {
  const heads = new Map<string, IndexSet>();
  for (const key of keys) {
    const segments = key.split('.');
    for (let i = 1; i < segments.length; i++) {
      if (!/^\d+$/.test(segments[i]!)) continue;
      const head = `${segments.slice(0, i).join('.')}.`;
      let set = heads.get(head);
      if (!set) heads.set(head, (set = { leaf: new Set(), struct: new Set() }));
      const index = Number(segments[i]);
      if (index < 1) set.zeroKey ??= key;
      (i === segments.length - 1 ? set.leaf : set.struct).add(index);
    }
  }
  return heads;
}

/** A reader over the parameters below one prefix (`''` for the request, `Filter.1.` for a structure). */
class QueryParams implements Ec2Params {
  constructor(
    readonly action: string,
    private readonly values: ReadonlyMap<string, string>,
    private readonly lists: ReadonlyMap<string, IndexSet>,
    private readonly prefix: string,
  ) {}

  str(name: string): string | undefined {
    return this.values.get(this.prefix + name);
  }

  req(name: string): string {
    const value = this.str(name);
    if (value === undefined || value === '') {
      throw new Ec2Error('MissingParameter', `The request must contain the parameter ${this.prefix + name}`);
    }
    return value;
  }

  int(name: string): number | undefined {
    const value = this.str(name);
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) {
      throw new Ec2Error('InvalidParameterValue', `Value (${value}) for parameter ${this.prefix + name} is invalid. Expected an integer.`);
    }
    return Number(value);
  }

  bool(name: string): boolean | undefined {
    const value = this.str(name);
    if (value === undefined) return undefined;
    const lower = value.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    throw new Ec2Error('InvalidParameterValue', `Value (${value}) for parameter ${this.prefix + name} is invalid. Expected 'true' or 'false'.`);
  }

  list(name: string): string[] {
    return this.indexes(name, 'leaf').map((i) => this.values.get(`${this.prefix}${name}.${i}`)!);
  }

  structs(name: string): Ec2Params[] {
    return this.indexes(name, 'struct').map((i) => new QueryParams(this.action, this.values, this.lists, `${this.prefix}${name}.${i}.`));
  }

  filters(): Map<string, string[]> {
    const filters = new Map<string, string[]>();
    for (const filter of this.structs('Filter')) {
      const name = filter.req('Name');
      filters.set(name, [...(filters.get(name) ?? []), ...filter.list('Value')]);
    }
    return filters;
  }

  tagSpecifications(): Array<{ resourceType: string; tags: Array<{ key: string; value: string }> }> {
    return this.structs('TagSpecification').map((spec) => ({
      resourceType: spec.req('ResourceType'),
      tags: spec.structs('Tag').map((tag) => ({ key: tag.req('Key'), value: tag.str('Value') ?? '' })),
    }));
  }

  /**
   * The 1-based indexes present under `Name.`, ascending. EC2 lists may skip numbers (the SDK never does);
   * order is by index, not by position in the body.
   */
  private indexes(name: string, kind: 'leaf' | 'struct'): number[] {
    const set = this.lists.get(`${this.prefix}${name}.`);
    if (!set) return [];
    if (set.zeroKey !== undefined) {
      throw new Ec2Error('InvalidParameterValue', `Parameter ${set.zeroKey} has index 0; list indexes start at 1`);
    }
    return [...set[kind]].sort((a, b) => a - b);
  }
}

/** FilterLimitExceeded beyond MAX_FILTERS filters or MAX_FILTER_VALUES values in one filter. */
function checkFilterLimits(lists: ReadonlyMap<string, IndexSet>): void {
  const filters = lists.get('Filter.')?.struct;
  if (!filters) return;
  const tooMany = (detail: string) => new Ec2Error('FilterLimitExceeded', `The request uses too many filters or too many filter values: ${detail}`);
  if (filters.size > MAX_FILTERS) throw tooMany(`${filters.size} filters; at most ${MAX_FILTERS}`);
  for (const n of filters) {
    const values = lists.get(`Filter.${n}.Value.`)?.leaf.size ?? 0;
    if (values > MAX_FILTER_VALUES) throw tooMany(`Filter.${n} has ${values} values; at most ${MAX_FILTER_VALUES}`);
  }
}

/**
 * Reads one request's parameters. Checks what every EC2 request needs — `Action` and `Version=2016-11-15` — and
 * throws EC2's error for a missing action (MissingAction), missing version (MissingParameter) or another version
 * (NoSuchVersion). Whether the action exists is the dispatcher's question (InvalidAction).
 */
export function parseQuery(form: URLSearchParams): Ec2Params {
  const count = form.size;
  if (count > MAX_QUERY_PARAMETERS) {
    throw new Ec2Error('InvalidRequest', `The request has ${count} parameters; at most ${MAX_QUERY_PARAMETERS} are accepted`);
  }
  const values = new Map<string, string>();
  for (const [key, value] of form) {
    if (values.has(key)) {
      throw new Ec2Error('InvalidParameterCombination', `The parameter ${key} is given more than once`);
    }
    values.set(key, value);
  }
  const action = values.get('Action');
  if (action === undefined || action === '') {
    throw new Ec2Error('MissingAction', 'The request must contain the parameter Action');
  }
  const version = values.get('Version');
  if (version === undefined || version === '') {
    throw new Ec2Error('MissingParameter', 'The request must contain the parameter Version');
  }
  if (version !== EC2_API_VERSION) {
    throw new Ec2Error('NoSuchVersion', `An invalid or unsupported API version was specified: ${version}; this endpoint speaks ${EC2_API_VERSION}`);
  }
  const lists = indexLists(values.keys());
  checkFilterLimits(lists);
  return new QueryParams(action, values, lists, '');
}

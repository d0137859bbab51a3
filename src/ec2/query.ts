/**
 * The EC2 Query protocol's request side: a reader over form-encoded parameters as @aws-sdk/client-ec2 sends them
 * (`Action=…&Version=2016-11-15&PrivateIpAddress.1=…&Filter.1.Name=…&Filter.1.Value.1=…`), with EC2's error codes.
 */
import { Ec2Error, type Ec2Params } from './protocol.js';

export const EC2_API_VERSION = '2016-11-15';

/** A reader over the parameters below one prefix (`''` for the request, `Filter.1.` for a structure). */
class QueryParams implements Ec2Params {
  constructor(
    readonly action: string,
    private readonly values: ReadonlyMap<string, string>,
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
    return this.indexes(name, /^(\d+)$/).map((i) => this.values.get(`${this.prefix}${name}.${i}`)!);
  }

  structs(name: string): Ec2Params[] {
    return this.indexes(name, /^(\d+)\./).map((i) => new QueryParams(this.action, this.values, `${this.prefix}${name}.${i}.`));
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
  private indexes(name: string, rest: RegExp): number[] {
    const head = `${this.prefix}${name}.`;
    const found = new Set<number>();
    for (const key of this.values.keys()) {
      if (!key.startsWith(head)) continue;
      const match = rest.exec(key.slice(head.length));
      if (!match) continue;
      const index = Number(match[1]);
      if (index < 1) {
        throw new Ec2Error('InvalidParameterValue', `Parameter ${key} has index ${index}; list indexes start at 1`);
      }
      found.add(index);
    }
    return [...found].sort((a, b) => a - b);
  }
}

/**
 * Reads one request's parameters. Checks what every EC2 request needs — `Action` and `Version=2016-11-15` — and
 * throws EC2's error for a missing action (MissingAction), missing version (MissingParameter) or another version
 * (NoSuchVersion). Whether the action exists is the dispatcher's question (InvalidAction).
 */
export function parseQuery(form: URLSearchParams): Ec2Params {
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
  return new QueryParams(action, values, '');
}

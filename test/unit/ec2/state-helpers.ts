import assert from 'node:assert/strict';
import { ec2Actions } from '../../../src/ec2/actions/index.js';
import { Ec2Error, type Ec2Params, type XmlObject } from '../../../src/ec2/protocol.js';
import { type Ec2State, openEc2State } from '../../../src/ec2/state.js';

/**
 * A minimal Ec2Params over a flat map such as {'PrivateIpAddress.1': '10.0.1.5'}, for driving handlers without
 * HTTP. The server's real parser is tested against the SDK separately (test/unit/ec2/sdk-*.test.ts).
 */
export function flatParams(action: string, map: Record<string, string | number | boolean>, prefix = ''): Ec2Params {
  const value = (name: string): string | undefined => {
    const v = map[prefix + name];
    return v === undefined ? undefined : String(v);
  };
  const indexes = (name: string): number[] => {
    const re = new RegExp(`^${(prefix + name).replace(/\./g, '\\.')}\\.(\\d+)(\\.|$)`);
    const found = new Set<number>();
    for (const key of Object.keys(map)) {
      const m = re.exec(key);
      if (m) found.add(Number(m[1]));
    }
    return [...found].sort((a, b) => a - b);
  };
  const self: Ec2Params = {
    action,
    str: value,
    req(name) {
      const v = value(name);
      if (v === undefined || v === '') throw new Ec2Error('MissingParameter', `The request must contain the parameter ${name}`);
      return v;
    },
    int(name) {
      const v = value(name);
      if (v === undefined) return undefined;
      if (!/^-?\d+$/.test(v)) throw new Ec2Error('InvalidParameterValue', `Invalid value '${v}' for ${name}`);
      return Number(v);
    },
    bool(name) {
      const v = value(name);
      if (v === undefined) return undefined;
      if (v !== 'true' && v !== 'false') throw new Ec2Error('InvalidParameterValue', `Invalid value '${v}' for ${name}`);
      return v === 'true';
    },
    list: (name) => indexes(name).map((i) => value(`${name}.${i}`)!).filter((v) => v !== undefined),
    structs: (name) => indexes(name).map((i) => flatParams(action, map, `${prefix}${name}.${i}.`)),
    filters() {
      const out = new Map<string, string[]>();
      for (const f of self.structs('Filter')) out.set(f.req('Name'), f.list('Value'));
      return out;
    },
    tagSpecifications: () =>
      self.structs('TagSpecification').map((s) => ({
        resourceType: s.req('ResourceType'),
        tags: s.structs('Tag').map((t) => ({ key: t.req('Key'), value: t.str('Value') ?? '' })),
      })),
  };
  return self;
}

/** Runs one action as the server does: inside one state transaction. */
export function call(state: Ec2State, action: string, map: Record<string, string | number | boolean> = {}): XmlObject {
  const handler = ec2Actions[action];
  assert.ok(handler, `no handler for ${action}`);
  return state.transaction(() => handler(flatParams(action, map), state));
}

/** Asserts that an action fails with an EC2 error code (and optionally a message pattern). */
export function assertEc2Error(fn: () => unknown, code: string, message?: RegExp): Ec2Error {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Ec2Error, `expected Ec2Error ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}, but the call succeeded`);
}

export function items(x: unknown): XmlObject[] {
  assert.ok(Array.isArray(x), `expected a list, got ${JSON.stringify(x)}`);
  return x as XmlObject[];
}

export function obj(x: unknown): XmlObject {
  assert.ok(x && typeof x === 'object' && !Array.isArray(x), `expected an object, got ${JSON.stringify(x)}`);
  return x as XmlObject;
}

/** A fresh in-memory state with one VPC (10.0.0.0/16, IPv6) and one /24 subnet in us-west-2a. */
export function withVpc(opts: { subnetCidr?: string; dbPath?: string } = {}): { state: Ec2State; vpcId: string; subnetId: string } {
  const state = openEc2State({ dbPath: opts.dbPath, now: () => Date.UTC(2025, 0, 1) });
  const vpc = obj(call(state, 'CreateVpc', { CidrBlock: '10.0.0.0/16', AmazonProvidedIpv6CidrBlock: true }).vpc);
  const vpcId = vpc.vpcId as string;
  const ipv6 = (items(vpc.ipv6CidrBlockAssociationSet)[0]!.ipv6CidrBlock as string).replace('/56', '/64');
  const subnet = obj(
    call(state, 'CreateSubnet', {
      VpcId: vpcId,
      CidrBlock: opts.subnetCidr ?? '10.0.1.0/24',
      AvailabilityZone: 'us-west-2a',
      Ipv6CidrBlock: ipv6,
    }).subnet,
  );
  return { state, vpcId, subnetId: subnet.subnetId as string };
}

/** Launches one instance of a type in a subnet; returns its ID and its primary ENI's ID. */
export function launch(state: Ec2State, subnetId: string, type: string, extra: Record<string, string | number | boolean> = {}) {
  const res = call(state, 'RunInstances', { ImageId: 'ami-12345678', InstanceType: type, MinCount: 1, MaxCount: 1, SubnetId: subnetId, ...extra });
  const instance = items(res.instancesSet)[0]!;
  const eni = items(instance.networkInterfaceSet)[0]!;
  return { instanceId: instance.instanceId as string, eniId: eni.networkInterfaceId as string, instance };
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { causeText } from '../../../src/k8s-api/field-errors.js';
import { applySchemaDefaults, type JsonSchema, pruneUnknownFields, validateAgainstSchema } from '../../../src/k8s-api/schema.js';

const spec = (properties: Record<string, JsonSchema>, extra: Partial<JsonSchema> = {}): JsonSchema => ({
  type: 'object',
  properties: { spec: { type: 'object', properties, ...extra } },
});

function problems(schema: JsonSchema, specValue: unknown): string[] {
  return validateAgainstSchema({ apiVersion: 'x/v1', kind: 'X', metadata: { name: 'x' }, spec: specValue }, schema).map(causeText);
}

test('types: the message names the found type, as go-openapi does; null only where nullable', () => {
  const schema = spec({ foo: { type: 'integer' }, bar: { type: 'string', nullable: true }, ratio: { type: 'number' }, on: { type: 'boolean' } });
  assert.deepEqual(problems(schema, { foo: 'string' }), ['spec.foo: Invalid value: "string": spec.foo in body must be of type integer: "string"']);
  assert.deepEqual(problems(schema, { foo: 1.5 }), ['spec.foo: Invalid value: "number": spec.foo in body must be of type integer: "number"']);
  assert.deepEqual(problems(schema, { foo: null, bar: null }), ['spec.foo: Invalid value: "null": spec.foo in body must be of type integer: "null"']);
  assert.deepEqual(problems(schema, { foo: 3, ratio: 2, on: 'yes' }), ['spec.on: Invalid value: "string": spec.on in body must be of type boolean: "string"']);
  assert.deepEqual(problems(schema, []), ['spec: Invalid value: "array": spec in body must be of type object: "array"']);
});

test('required, enum, pattern and string lengths', () => {
  const schema = spec({ mode: { type: 'string', enum: ['a', 'b'] }, id: { type: 'string', pattern: '^sg-[0-9a-f]+$', minLength: 4, maxLength: 8 } }, { required: ['mode', 'bar'] });
  assert.deepEqual(problems(schema, { mode: 'c', id: 'sg-' }), [
    'spec.bar: Required value',
    'spec.mode: Unsupported value: "c": supported values: "a", "b"',
    'spec.id: Invalid value: "sg-": spec.id in body should be at least 4 chars long',
    `spec.id: Invalid value: "sg-": spec.id in body should match '^sg-[0-9a-f]+$'`,
  ]);
  assert.deepEqual(problems(schema, { mode: 'a', bar: 1, id: 'sg-0123456789' }), ['spec.id: Too long: may not be longer than 8']);
});

test('numbers: minimum, maximum (exclusive too), multipleOf, int32', () => {
  const schema = spec({ port: { type: 'integer', format: 'int32', minimum: 1, maximum: 65535 }, weight: { type: 'number', minimum: 0, exclusiveMinimum: true, multipleOf: 0.5 } });
  assert.deepEqual(problems(schema, { port: 0, weight: 0 }), [
    'spec.port: Invalid value: 0: spec.port in body should be greater than or equal to 1',
    'spec.weight: Invalid value: 0: spec.weight in body should be greater than 0',
  ]);
  assert.deepEqual(problems(schema, { port: 70000, weight: 0.7 }), [
    'spec.port: Invalid value: 70000: spec.port in body should be less than or equal to 65535',
    'spec.weight: Invalid value: 0.7: spec.weight in body should be a multiple of 0.5',
  ]);
  assert.deepEqual(problems(spec({ n: { type: 'integer', format: 'int32' } }), { n: 2 ** 31 }), ['spec.n: Invalid value: 2147483648: spec.n in body must be of type int32']);
});

test('arrays and maps: items, min/maxItems, list-type set and map, additionalProperties, min/maxProperties', () => {
  const schema = spec({
    groups: { type: 'array', minItems: 1, maxItems: 2, items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
    ports: { type: 'array', items: { type: 'object', properties: { port: { type: 'integer' } } }, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['port'] },
    tags: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 1 },
  });
  assert.deepEqual(problems(schema, { groups: [] }), ['spec.groups: Invalid value: 0: spec.groups in body should have at least 1 items']);
  assert.deepEqual(problems(schema, { groups: ['a', 2, 'a'] }), [
    'spec.groups: Too many: 3: must have at most 2 items',
    'spec.groups[1]: Invalid value: "integer": spec.groups[1] in body must be of type string: "integer"',
    'spec.groups[2]: Duplicate value: "a"',
  ]);
  assert.deepEqual(problems(schema, { ports: [{ port: 80 }, { port: 80 }] }), ['spec.ports[1]: Duplicate value: {"port":80}']);
  assert.deepEqual(problems(schema, { tags: { a: 'x', b: 1 } }), ['spec.tags: Too many: 2: must have at most 1 items', 'spec.tags.b: Invalid value: "integer": spec.tags.b in body must be of type string: "integer"']);
});

test('formats: date-time, ipv4, cidr, mac, uuid; int-or-string takes both and nothing else', () => {
  const schema = spec({
    at: { type: 'string', format: 'date-time' },
    ip: { type: 'string', format: 'ipv4' },
    net: { type: 'string', format: 'cidr' },
    mac: { type: 'string', format: 'mac' },
    id: { type: 'string', format: 'uuid' },
    port: { 'x-kubernetes-int-or-string': true },
  });
  assert.deepEqual(problems(schema, { at: '2026-01-02T03:04:05Z', ip: '10.0.0.1', net: '10.0.0.0/16', mac: '0a:1b:2c:3d:4e:5f', id: '0b6f3c2e-2d1c-4b9e-9f1a-1234567890ab', port: 'http' }), []);
  assert.deepEqual(problems(schema, { port: 8080 }), []);
  assert.deepEqual(problems(schema, { at: 'yesterday', ip: '10.0.0.256', net: '10.0.0.0/33', port: true }), [
    'spec.at: Invalid value: "yesterday": spec.at in body must be of type date-time: "yesterday"',
    'spec.ip: Invalid value: "10.0.0.256": spec.ip in body must be of type ipv4: "10.0.0.256"',
    'spec.net: Invalid value: "10.0.0.0/33": spec.net in body must be of type cidr: "10.0.0.0/33"',
    'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
  ]);
});

test('defaults fill missing and null fields, below defaults too; nulls of fields that may not be null are dropped', () => {
  const schema = spec({
    protocol: { type: 'string', default: 'TCP' },
    limits: { type: 'object', default: {}, properties: { max: { type: 'integer', default: 10 } } },
    note: { type: 'string' },
    items: { type: 'array', items: { type: 'object', properties: { weight: { type: 'integer', default: 1 } } } },
  });
  const obj = { spec: { protocol: null, note: null, items: [{}, { weight: 5 }] } };
  applySchemaDefaults(obj, schema);
  assert.deepEqual(obj.spec, { protocol: 'TCP', items: [{ weight: 1 }, { weight: 5 }], limits: { max: 10 } });
});

test('pruning drops unknown fields, keeps apiVersion/kind/metadata and whatever is under x-kubernetes-preserve-unknown-fields', () => {
  const schema: JsonSchema = {
    type: 'object',
    properties: {
      spec: { type: 'object', properties: { known: { type: 'string' }, free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
      status: { type: 'object' },
    },
  };
  const obj = { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'x' }, spec: { known: 'k', unknown: 1, free: { any: { thing: 1 } } }, status: { phase: 'Up' }, extra: true };
  assert.deepEqual(pruneUnknownFields(obj, schema), ['spec.unknown', 'status.phase', 'extra']);
  assert.deepEqual(obj, { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'x' }, spec: { known: 'k', free: { any: { thing: 1 } } }, status: {} });
});

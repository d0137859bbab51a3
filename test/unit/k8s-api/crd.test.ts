import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { builtinTypes } from '../../../src/k8s-api/builtin/index.js';
import { crdDefinitionType, crdStatus, crdTypes } from '../../../src/k8s-api/crd.js';
import { causeText } from '../../../src/k8s-api/field-errors.js';
import type { KubeObject, ResourceType } from '../../../src/k8s-api/index.js';

const fixture = (name: string): KubeObject => parse(readFileSync(new URL(`../../fixtures/k8s/${name}`, import.meta.url), 'utf8')) as KubeObject;
/** The CRDs podnet ships, from deploy/. */
const deployed = (name: string): KubeObject => parse(readFileSync(new URL(`../../../deploy/${name}`, import.meta.url), 'utf8')) as KubeObject;

/** What the server does with a CRD object on create: default, then validate. */
function admitCrd(crd: KubeObject, old?: KubeObject): string[] {
  crdDefinitionType.applyDefaults(crd);
  return crdDefinitionType.validate(crd, old).map(causeText);
}

/** What the server does with a custom object: default, then validate (which prunes). */
function admit(type: ResourceType, obj: KubeObject, old?: KubeObject): string[] {
  type.applyDefaults(obj);
  return type.validate(obj, old).map(causeText);
}

function onlyType(crd: KubeObject): ResourceType {
  const types = crdTypes(crd);
  assert.equal(types.length, 1);
  return types[0] as ResourceType;
}

test('the upstream ENIConfig and CNINode CRDs are valid, and default their names as Kubernetes does', () => {
  const eni = deployed('00-eniconfig-crd.yaml');
  assert.deepEqual(admitCrd(eni), []);
  assert.equal((eni['spec'] as { names: { listKind: string } }).names.listKind, 'ENIConfigList');
  assert.deepEqual((eni['spec'] as { conversion: unknown }).conversion, { strategy: 'None' });
  assert.deepEqual(admitCrd(deployed('00-cninode-crd.yaml')), []);
});

test('ENIConfig is served cluster scoped at crd.k8s.amazonaws.com/v1alpha1; an upstream ENIConfig passes', () => {
  const type = onlyType(deployed('00-eniconfig-crd.yaml'));
  assert.deepEqual(
    [type.group, type.version, type.kind, type.listKind, type.plural, type.singular, type.namespaced, type.strategicMerge, type.subresources],
    ['crd.k8s.amazonaws.com', 'v1alpha1', 'ENIConfig', 'ENIConfigList', 'eniconfigs', 'eniconfig', false, false, []],
  );
  assert.deepEqual(admit(type, fixture('eniconfig-us-west-2a.yaml')), []);
});

test('ENIConfig: a wrong type and a missing subnet are refused with Kubernetes messages', () => {
  const type = onlyType(deployed('00-eniconfig-crd.yaml'));
  const bad: KubeObject = { apiVersion: 'crd.k8s.amazonaws.com/v1alpha1', kind: 'ENIConfig', metadata: { name: 'az1' }, spec: { subnet: 7, securityGroups: 'sg-1' } };
  assert.deepEqual(admit(type, bad), [
    'spec.subnet: Invalid value: "integer": spec.subnet in body must be of type string: "integer"',
    'spec.securityGroups: Invalid value: "string": spec.securityGroups in body must be of type array: "string"',
  ]);
  const missing: KubeObject = { apiVersion: 'crd.k8s.amazonaws.com/v1alpha1', kind: 'ENIConfig', metadata: { name: 'az1' }, spec: {} };
  const causes = type.validate(missing, undefined);
  assert.deepEqual(causes, [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.subnet' }]);
  const badName: KubeObject = { apiVersion: 'crd.k8s.amazonaws.com/v1alpha1', kind: 'ENIConfig', metadata: { name: 'US_West' }, spec: { subnet: 's' } };
  assert.match(admit(type, badName)[0] ?? '', /^metadata\.name: Invalid value: "US_West": a lowercase RFC 1123 subdomain/);
});

test('ENIConfig: unknown fields are pruned under spec, kept at the root (x-kubernetes-preserve-unknown-fields there)', () => {
  const type = onlyType(deployed('00-eniconfig-crd.yaml'));
  const obj: KubeObject = { apiVersion: 'crd.k8s.amazonaws.com/v1alpha1', kind: 'ENIConfig', metadata: { name: 'az1' }, spec: { subnet: 's', extra: 1 }, note: 'kept' };
  assert.deepEqual(type.unknownFields?.(obj), ['spec.extra'], 'what fieldValidation=Strict refuses');
  assert.deepEqual(obj['spec'], { subnet: 's', extra: 1 }, 'unknownFields leaves the object alone');
  assert.deepEqual(admit(type, obj), []);
  assert.deepEqual(obj['spec'], { subnet: 's' });
  assert.equal(obj['note'], 'kept');
});

test('CNINode: status subresource, short name cnd, the Features column as kubectl prints it, enum and map values checked', () => {
  const type = onlyType(deployed('00-cninode-crd.yaml'));
  assert.deepEqual([type.namespaced, type.shortNames, type.subresources], [false, ['cnd'], ['status']]);
  const node = fixture('cninode-node-a.yaml');
  assert.deepEqual(admit(type, node), []);
  assert.deepEqual(type.printerColumns.map((c) => [c.name, c.type]), [['Features', 'string']]);
  assert.equal(type.printerColumns[0]?.cell(node), '[{"name":"SecurityGroupsForPods"}]');
  assert.equal(type.printerColumns[0]?.cell({ apiVersion: 'v', kind: 'CNINode', metadata: { name: 'x' } }), undefined);
  const bad: KubeObject = { apiVersion: 'vpcresources.k8s.aws/v1alpha1', kind: 'CNINode', metadata: { name: 'n' }, spec: { managedBy: 'me', tags: { a: 'b', c: 3 } }, status: { trunkInterface: { deviceIndex: 2 ** 31 } } };
  assert.deepEqual(admit(type, bad), [
    'spec.managedBy: Unsupported value: "me": supported values: "vpc-resource-controller", "eks-auto-mode"',
    'spec.tags.c: Invalid value: "integer": spec.tags.c in body must be of type string: "integer"',
    'status.trunkInterface.id: Required value',
    'status.trunkInterface.deviceIndex: Invalid value: 2147483648: status.trunkInterface.deviceIndex in body must be of type int32',
  ]);
});

test('SecurityGroupPolicy: namespaced, short name sgp, 1 to 16 group ids, the Security-Group-Ids column', () => {
  const crd = fixture('securitygrouppolicy-crd.yaml');
  assert.deepEqual(admitCrd(crd), []);
  const type = onlyType(crd);
  assert.deepEqual([type.group, type.version, type.namespaced, type.shortNames, type.subresources], ['vpcresources.k8s.aws', 'v1beta1', true, ['sgp'], []]);
  const policy = fixture('securitygrouppolicy-web.yaml');
  assert.deepEqual(admit(type, policy), []);
  assert.equal(type.printerColumns[0]?.cell(policy), '["sg-0a1b2c3d4e5f60002"]');
  const groupIds = Array.from({ length: 17 }, (_, i) => `sg-${i}`);
  const tooMany: KubeObject = { ...fixture('securitygrouppolicy-web.yaml'), spec: { securityGroups: { groupIds } } };
  assert.deepEqual(admit(type, tooMany), ['spec.securityGroups.groupIds: Too many: 17: must have at most 16 items']);
  const noNamespace: KubeObject = { ...fixture('securitygrouppolicy-web.yaml'), metadata: { name: 'web' } };
  assert.deepEqual(admit(type, noNamespace), ['metadata.namespace: Required value']);
});

test('a CRD without printer columns shows AGE; one per served version, none for unserved ones', () => {
  const crd = deployed('00-eniconfig-crd.yaml');
  const versions = (crd['spec'] as { versions: Array<Record<string, unknown>> }).versions;
  versions.push({ ...versions[0], name: 'v1alpha2', storage: false }, { ...versions[0], name: 'v1alpha3', storage: false, served: false });
  assert.deepEqual(admitCrd(crd), []);
  const types = crdTypes(crd);
  assert.deepEqual(types.map((t) => t.version), ['v1alpha1', 'v1alpha2']);
  assert.deepEqual(types[0]?.printerColumns.map((c) => c.name), ['Age']);
});

test('CRD validation: name, group, scope, names, versions, storage and schemas, worded as the apiextensions server does', () => {
  const crd: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example',
      scope: 'Global',
      names: { plural: 'Widgets', kind: 'Widget' },
      versions: [
        { name: 'v1', served: true, storage: false, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { properties: { size: { type: 'integer', default: 'big' } } }, list: { type: 'array' }, tags: { type: 'array', uniqueItems: true, items: { type: 'string' } } } } } },
        { name: 'v1', served: true, storage: false },
      ],
    },
  };
  const problems = admitCrd(crd);
  assert.match(problems.pop() ?? '', /^spec\.versions: Invalid value: \[\{"name":"v1".*\]: must have exactly one version marked as storage version$/);
  assert.deepEqual(problems, [
    'metadata.name: Invalid value: "widgets.example.com": must be spec.names.plural+"."+spec.group',
    'spec.group: Invalid value: "example": should be a domain with at least one dot',
    'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
    `spec.names.plural: Invalid value: "Widgets": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
    'spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields',
    'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[size].default: Invalid value: "string": spec.size in body must be of type integer: "string"',
    'spec.versions[0].schema.openAPIV3Schema.properties[list].items: Required value: must be specified',
    'spec.versions[0].schema.openAPIV3Schema.properties[tags].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
    'spec.versions[1].name: Duplicate value: "v1"',
    'spec.versions[1].schema.openAPIV3Schema: Required value: schemas are required',
  ]);
});

test('a CRD scope is immutable', () => {
  const old = deployed('00-eniconfig-crd.yaml');
  const changed = deployed('00-eniconfig-crd.yaml');
  (changed['spec'] as Record<string, unknown>)['scope'] = 'Namespaced';
  assert.deepEqual(admitCrd(changed, old), ['spec.scope: Invalid value: "Namespaced": field is immutable']);
});

test('crdStatus: names accepted and established; a plural already served in the group is a conflict', () => {
  const now = () => new Date('2026-01-02T03:04:05.678Z');
  const crd = deployed('00-cninode-crd.yaml');
  crdDefinitionType.applyDefaults(crd);
  const status = crdStatus(crd, builtinTypes(), now);
  assert.deepEqual(status, {
    conditions: [
      { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: '2026-01-02T03:04:05Z' },
      { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: '2026-01-02T03:04:05Z' },
    ],
    acceptedNames: { plural: 'cninodes', singular: 'cninode', shortNames: ['cnd'], kind: 'CNINode', listKind: 'CNINodeList' },
    storedVersions: ['v1alpha1'],
  });
  const rival = deployed('00-cninode-crd.yaml');
  const rivalSpec = rival['spec'] as { names: Record<string, unknown> };
  rivalSpec.names = { plural: 'cninodes', kind: 'OtherNode' };
  rival.metadata.name = 'cninodes.vpcresources.k8s.aws';
  const conflict = crdStatus(rival, crdTypes(crd), now);
  const conditions = conflict['conditions'] as Array<Record<string, string>>;
  assert.deepEqual([conditions[0]?.['status'], conditions[0]?.['reason'], conditions[0]?.['message']], ['False', 'PluralConflict', '"cninodes" is already in use']);
  assert.deepEqual([conditions[1]?.['status'], conditions[1]?.['reason']], ['False', 'NotAccepted']);
  assert.deepEqual(conflict['acceptedNames'], { singular: 'othernode', kind: 'OtherNode', listKind: 'OtherNodeList' }, 'each free name is accepted');
});

test('an established CRD whose plural changes to a taken one keeps being served under its accepted plural', () => {
  const crd = deployed('00-eniconfig-crd.yaml');
  crdDefinitionType.applyDefaults(crd);
  crd['status'] = crdStatus(crd, []);
  const pods = builtinTypes().filter((t) => t.plural === 'pods').map((t) => ({ ...t, group: 'crd.k8s.amazonaws.com' }));
  (crd['spec'] as { names: Record<string, unknown> }).names['plural'] = 'pods';
  crd['status'] = crdStatus(crd, pods);
  const conditions = (crd['status'] as { conditions: Array<Record<string, string>> }).conditions;
  assert.deepEqual(conditions.map((c) => [c.type, c.status, c.reason]), [['NamesAccepted', 'False', 'PluralConflict'], ['Established', 'True', 'InitialNamesAccepted']]);
  assert.deepEqual(crdTypes(crd).map((t) => t.plural), ['eniconfigs']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, serveDiscovery } from '../../../src/k8s-api/discovery.js';
import { openApiV2Protobuf } from '../../../src/k8s-api/openapi.js';
import type { ResourceType } from '../../../src/k8s-api/types.js';

const type = (over: Partial<ResourceType>): ResourceType => ({
  group: '', version: 'v1', kind: 'Pod', listKind: 'PodList', plural: 'pods', singular: 'pod', shortNames: [], categories: [],
  namespaced: true, verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'], subresources: [],
  strategicMerge: true, printerColumns: [], applyDefaults: () => undefined, validate: () => [], ...over,
});
const types = [
  type({ shortNames: ['po'], categories: ['all'], subresources: ['status'] }),
  type({ kind: 'ServiceAccount', listKind: 'ServiceAccountList', plural: 'serviceaccounts', singular: 'serviceaccount', shortNames: ['sa'], subresources: ['token'] }),
  type({ group: 'apps', kind: 'DaemonSet', listKind: 'DaemonSetList', plural: 'daemonsets', singular: 'daemonset', shortNames: ['ds'], subresources: ['status'] }),
  type({ group: 'crd.k8s.amazonaws.com', version: 'v1alpha1', kind: 'ENIConfig', listKind: 'ENIConfigList', plural: 'eniconfigs', singular: 'eniconfig', namespaced: false, strategicMerge: false }),
  type({ group: 'crd.k8s.amazonaws.com', version: 'v1', kind: 'ENIConfig', listKind: 'ENIConfigList', plural: 'eniconfigs', singular: 'eniconfig', namespaced: false, strategicMerge: false }),
];
// what kubectl 1.20 and 1.30+ send (seen with -v=8)
const legacyAccept = 'application/json, */*';
const aggregatedAccept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
const body = (path: string, accept = legacyAccept): any => JSON.parse(serveDiscovery(path, accept, types)?.body ?? 'null');

test('kubectl 1.20 gets the legacy documents: /api, /apis with preferred versions, resource lists with subresources', () => {
  assert.deepEqual(body('/api'), { kind: 'APIVersions', versions: ['v1'] });
  const groups = body('/apis');
  assert.equal(groups.kind, 'APIGroupList');
  assert.deepEqual(groups.groups.map((g: any) => [g.name, g.preferredVersion.groupVersion]), [['apps', 'apps/v1'], ['crd.k8s.amazonaws.com', 'crd.k8s.amazonaws.com/v1']]);
  const core = body('/api/v1');
  assert.equal(core.groupVersion, 'v1');
  assert.deepEqual(core.resources.map((r: any) => r.name), ['pods', 'pods/status', 'serviceaccounts', 'serviceaccounts/token']);
  assert.deepEqual(core.resources[0], { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: types[0]!.verbs, shortNames: ['po'], categories: ['all'] });
  assert.deepEqual(core.resources[1].verbs, ['get', 'patch', 'update']);
  assert.deepEqual([core.resources[3].group, core.resources[3].kind, core.resources[3].verbs], ['authentication.k8s.io', 'TokenRequest', ['create']]);
  assert.equal(body('/apis/crd.k8s.amazonaws.com/v1alpha1').resources[0].namespaced, false);
});

test('kubectl 1.26+ gets aggregated discovery in the newest version it offers, with the answered media type', () => {
  const res = serveDiscovery('/apis', aggregatedAccept, types);
  assert.equal(res?.contentType, 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
  const list = JSON.parse(res!.body);
  assert.equal(list.apiVersion, 'apidiscovery.k8s.io/v2');
  assert.deepEqual(list.items[1].versions.map((v: any) => v.version), ['v1', 'v1alpha1']);
  const ds = list.items[0].versions[0].resources[0];
  assert.deepEqual([ds.resource, ds.scope, ds.responseKind, ds.subresources[0].subresource], ['daemonsets', 'Namespaced', { group: 'apps', version: 'v1', kind: 'DaemonSet' }, 'status']);
  const v2beta1 = serveDiscovery('/api', 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json', types);
  assert.equal(JSON.parse(v2beta1!.body).items[0].versions[0].resources[0].resource, 'pods');
  assert.match(v2beta1!.contentType, /v=v2beta1/);
});

test('unknown groups are 404, unacceptable media 406, other paths are not discovery', () => {
  assert.equal(serveDiscovery('/apis/nope.example.com', legacyAccept, types)?.status, 404);
  assert.equal(serveDiscovery('/apis/apps/v9', legacyAccept, types)?.status, 404);
  assert.equal(serveDiscovery('/apis', 'application/vnd.kubernetes.protobuf', types)?.status, 406);
  assert.equal(serveDiscovery('/api/v1/pods', legacyAccept, types), undefined);
  assert.equal(serveDiscovery('/apis/apps/v1/namespaces/x/daemonsets', legacyAccept, types), undefined);
  assert.equal(body('/version').major, '1');
});

test('versions sort as Kubernetes prefers them: GA, beta, alpha, then by number', () => {
  assert.deepEqual(['v1alpha1', 'v2beta1', 'v1', 'v1beta2', 'v2', 'foo', 'v1beta1'].sort(compareVersions), ['v2', 'v1', 'v2beta1', 'v1beta2', 'v1beta1', 'v1alpha1', 'foo']);
});

test('/openapi/v2 is a protobuf Document without definitions (kubectl skips client-side validation); v3 is 404', () => {
  const res = serveDiscovery('/openapi/v2?timeout=32s', 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf', types);
  assert.equal(res?.status, 200);
  assert.equal(res?.contentType, 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
  const bytes = Buffer.from(res!.body, 'latin1');
  assert.ok(bytes.every((b) => b < 0x80), 'ASCII only, so a string body is byte-exact');
  // field 1 (swagger) "2.0", field 2 (info) { field 1 title, field 2 version }
  assert.deepEqual([...bytes.subarray(0, 5)], [0x0a, 3, 0x32, 0x2e, 0x30]);
  assert.equal(bytes[5], 0x12);
  assert.equal(bytes[6], bytes.length - 7);
  assert.equal(openApiV2Protobuf('v1').length, 5 + 2 + 12 + 4);
  assert.equal(JSON.parse(serveDiscovery('/openapi/v2', 'application/json', types)!.body).swagger, '2.0');
  assert.equal(serveDiscovery('/openapi/v3', 'application/json, */*', types)?.status, 404);
  assert.equal(serveDiscovery('/openapi/v3/apis/apps/v1', 'application/json', types)?.status, 404);
});

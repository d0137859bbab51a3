import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, toTable, wantsTable } from '../../../src/k8s-api/table.js';
import type { KubeObject, ResourceType } from '../../../src/k8s-api/types.js';

const now = Date.parse('2026-01-01T12:00:00Z');
const pods: ResourceType = {
  group: '', version: 'v1', kind: 'Pod', listKind: 'PodList', plural: 'pods', singular: 'pod', shortNames: ['po'], categories: ['all'],
  namespaced: true, verbs: ['get', 'list'], subresources: ['status'], strategicMerge: true,
  printerColumns: [
    { name: 'Status', type: 'string', cell: (o) => (o.status as { phase?: string } | undefined)?.phase },
    { name: 'Age', type: 'date', cell: (o) => o.metadata.creationTimestamp },
    { name: 'IP', type: 'string', priority: 1, cell: (o) => (o.status as { podIP?: string } | undefined)?.podIP },
  ],
  applyDefaults: () => undefined, validate: () => [],
};
const pod = (name: string, created: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', creationTimestamp: created }, status: { phase: 'Running' } });

test('kubectl asks for a Table first; v1beta1-only or plain JSON requests do not get one', () => {
  assert.equal(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'), true);
  assert.equal(wantsTable('application/json;as=Table;v=v1beta1;g=meta.k8s.io'), false);
  assert.equal(wantsTable('application/json, */*'), false);
  assert.equal(wantsTable(''), false);
});

test('a Table has NAME and the type columns (a date column as an age), and PartialObjectMetadata rows', () => {
  const table = toTable(pods, [pod('a', '2026-01-01T11:55:00Z')], { resourceVersion: '7', continue: 'c' }, 'Metadata', now) as any;
  assert.deepEqual(table.columnDefinitions.map((c: any) => [c.name, c.priority]), [['Name', 0], ['Status', 0], ['Age', 0], ['IP', 1]]);
  assert.deepEqual(table.metadata, { resourceVersion: '7', continue: 'c' });
  assert.deepEqual(table.rows[0].cells, ['a', 'Running', '5m', null]);
  assert.deepEqual(table.rows[0].object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: pod('a', '2026-01-01T11:55:00Z').metadata });
  assert.equal((toTable(pods, [pod('a', 'x')], { resourceVersion: '7' }, 'Object', now) as any).rows[0].object.kind, 'Pod');
  assert.equal('object' in (toTable(pods, [pod('a', 'x')], { resourceVersion: '7' }, 'None', now) as any).rows[0], false);
  assert.equal((toTable(pods, [pod('a', 'x')], { resourceVersion: '7' }, 'None', now) as any).rows[0].cells[2], '<invalid>');
});

test('ages read as kubectl prints them', () => {
  const s = 1000;
  const cases: Array<[number, string]> = [[-5 * s, '<invalid>'], [-1 * s, '0s'], [0, '0s'], [119 * s, '119s'], [125 * s, '2m5s'], [600 * s, '10m'], [179 * 60 * s, '179m'],
    [3 * 3600 * s, '3h'], [(7 * 60 + 59) * 60 * s, '7h59m'], [47 * 3600 * s, '47h'], [50 * 3600 * s, '2d2h'], [10 * 86400 * s, '10d'], [800 * 86400 * s, '2y70d'], [3000 * 86400 * s, '8y']];
  for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, `${ms} ms`);
});

test('a type that places its own Name column (events: LAST SEEN first) gets no leading NAME', () => {
  const events: ResourceType = {
    ...pods, kind: 'Event', plural: 'events',
    printerColumns: [
      { name: 'Last Seen', type: 'string', cell: () => '5m' },
      { name: 'Reason', type: 'string', cell: (o) => o.reason },
      { name: 'Name', type: 'string', priority: 1, cell: (o) => o.metadata.name },
    ],
  };
  const ev: KubeObject = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'p.1', namespace: 'default' }, reason: 'Scheduled' };
  const table = toTable(events, [ev], { resourceVersion: '1' }, 'None', now) as any;
  assert.deepEqual(table.columnDefinitions.map((c: any) => c.name), ['Last Seen', 'Reason', 'Name']);
  assert.deepEqual(table.rows[0].cells, ['5m', 'Scheduled', 'p.1']);
});

/**
 * DaemonSet (apps/v1): defaults (revisionHistoryLimit 10, RollingUpdate with maxUnavailable 1 and maxSurge 0, the
 * template's pod spec defaults, a zeroed status), validation (selector required, non-empty, matching the template's
 * labels and immutable; restartPolicy Always) and the DESIRED…NODE SELECTOR columns.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Cause, KubeObject, ResourceType } from '../types.js';
import { at, column, formatLabelSelector, formatLabels, list } from './columns.js';
import { defineKind } from './define.js';
import { dns1123Subdomain, invalid, isRecord, notSupported, required, validateAnnotations, validateLabels } from './fields.js';
import { defaultPodSpec, validatePodSpec } from './podspec.js';

type Obj = Record<string, unknown>;

function defaultDaemonSet(obj: KubeObject): void {
  const spec = isRecord(obj.spec) ? obj.spec : undefined;
  if (!spec) return;
  if (spec.revisionHistoryLimit === undefined) spec.revisionHistoryLimit = 10;
  const strategy = isRecord(spec.updateStrategy) ? spec.updateStrategy : (spec.updateStrategy = {});
  if (strategy.type === undefined) strategy.type = 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const rolling = isRecord(strategy.rollingUpdate) ? strategy.rollingUpdate : (strategy.rollingUpdate = {});
    if (rolling.maxUnavailable === undefined) rolling.maxUnavailable = 1;
    if (rolling.maxSurge === undefined) rolling.maxSurge = 0;
  }
  if (isRecord(spec.template) && isRecord(spec.template.spec)) defaultPodSpec(spec.template.spec, 'DaemonSet');
  const status = isRecord(obj.status) ? obj.status : (obj.status = {});
  for (const k of ['currentNumberScheduled', 'desiredNumberScheduled', 'numberMisscheduled', 'numberReady']) if (status[k] === undefined) status[k] = 0;
}

/** Go's %#v of a map[string]string, as the selector mismatch message shows the template's labels. */
function goStringMap(m: unknown): string {
  const o = isRecord(m) ? m : {};
  const pairs = Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(String(o[k]))}`);
  return `map[string]string{${pairs.join(', ')}}`;
}

function rawInvalid(field: string, rendered: string, detail: string): Cause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${rendered}: ${detail}`, field };
}

/** Whether a label selector (matchLabels and matchExpressions) selects these labels. */
function selectorMatches(sel: Obj, labels: Obj): boolean {
  const matchLabels = isRecord(sel.matchLabels) ? sel.matchLabels : {};
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
  for (const e of list(sel, 'matchExpressions')) {
    const key = String(at(e, 'key'));
    const values = list(e, 'values').map(String);
    const has = Object.hasOwn(labels, key);
    switch (at(e, 'operator')) {
      case 'In': if (!has || !values.includes(String(labels[key]))) return false; break;
      case 'NotIn': if (has && values.includes(String(labels[key]))) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

function validateSelector(sel: unknown, field: string): Cause[] {
  if (!isRecord(sel)) return [];
  const causes = validateLabels(sel.matchLabels, `${field}.matchLabels`);
  list(sel, 'matchExpressions').forEach((e, i) => {
    const ef = `${field}.matchExpressions[${i}]`;
    const op = at(e, 'operator');
    const values = list(e, 'values');
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(String(op))) causes.push(invalid(`${ef}.operator`, op ?? '', 'not a valid selector operator'));
    else if ((op === 'In' || op === 'NotIn') && values.length === 0) causes.push(required(`${ef}.values`, 'must be specified when `operator` is \'In\' or \'NotIn\''));
    else if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) causes.push({ reason: 'FieldValueForbidden', message: 'Forbidden: may not be specified when `operator` is \'Exists\' or \'DoesNotExist\'', field: `${ef}.values` });
  });
  return causes;
}

function validateDaemonSet(obj: KubeObject, old: KubeObject | undefined): Cause[] {
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const causes: Cause[] = [];
  const sel = spec.selector;
  const template = isRecord(spec.template) ? spec.template : {};
  const templateLabels = isRecord(at(template, 'metadata', 'labels')) ? (at(template, 'metadata', 'labels') as Obj) : {};
  if (!isRecord(sel)) {
    causes.push(required('spec.selector'));
  } else {
    causes.push(...validateSelector(sel, 'spec.selector'));
    const empty = Object.keys(isRecord(sel.matchLabels) ? sel.matchLabels : {}).length === 0 && list(sel, 'matchExpressions').length === 0;
    if (empty) causes.push(rawInvalid('spec.selector', formatSelectorGo(sel), 'empty selector is invalid for daemonset'));
    else if (!selectorMatches(sel, templateLabels)) {
      causes.push(rawInvalid('spec.template.metadata.labels', goStringMap(templateLabels), '`selector` does not match template `labels`'));
    }
  }
  causes.push(...validateLabels(at(template, 'metadata', 'labels'), 'spec.template.metadata.labels'));
  causes.push(...validateAnnotations(at(template, 'metadata', 'annotations'), 'spec.template.metadata.annotations'));
  causes.push(...validatePodSpec(template.spec, 'spec.template.spec'));
  const restartPolicy = at(template, 'spec', 'restartPolicy');
  if (restartPolicy !== undefined && restartPolicy !== 'Always' && ['OnFailure', 'Never'].includes(String(restartPolicy))) {
    causes.push(notSupported('spec.template.spec.restartPolicy', restartPolicy, ['Always']));
  }
  const strategy = isRecord(spec.updateStrategy) ? spec.updateStrategy : {};
  if (strategy.type !== undefined && !['OnDelete', 'RollingUpdate'].includes(String(strategy.type))) {
    causes.push(notSupported('spec.updateStrategy.type', strategy.type, ['OnDelete', 'RollingUpdate']));
  }
  const rolling = isRecord(strategy.rollingUpdate) ? strategy.rollingUpdate : undefined;
  if (rolling && isZero(rolling.maxUnavailable) && isZero(rolling.maxSurge)) {
    causes.push(invalid('spec.updateStrategy.rollingUpdate.maxUnavailable', rolling.maxUnavailable, 'may not be 0 when maxSurge is 0'));
  }
  for (const key of ['revisionHistoryLimit', 'minReadySeconds']) {
    const v = spec[key];
    if (typeof v === 'number' && v < 0) causes.push(invalid(`spec.${key}`, v, 'must be greater than or equal to 0'));
  }
  // ValidateDaemonSetStatus: the counters a controller writes are never negative
  const status = isRecord(obj.status) ? obj.status : {};
  for (const key of ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady', 'observedGeneration', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable', 'collisionCount']) {
    const v = status[key];
    if (typeof v === 'number' && v < 0) causes.push(invalid(`status.${key}`, v, 'must be greater than or equal to 0'));
  }
  if (old && isRecord(old.spec) && !isDeepStrictEqual(old.spec.selector, spec.selector)) {
    causes.push(rawInvalid('spec.selector', formatSelectorGo(sel), 'field is immutable'));
  }
  return causes;
}

function isZero(v: unknown): boolean {
  return v === 0 || v === '0' || v === '0%';
}

/** Go's %#v of a *metav1.LabelSelector, shortened to what people read in it. */
function formatSelectorGo(sel: unknown): string {
  const s = isRecord(sel) ? sel : {};
  return `v1.LabelSelector{MatchLabels:${goStringMap(s.matchLabels)}, MatchExpressions:[]v1.LabelSelectorRequirement(${list(s, 'matchExpressions').length ? JSON.stringify(s.matchExpressions) : 'nil'})}`;
}

function count(obj: KubeObject, key: string): number {
  const v = at(obj, 'status', key);
  return typeof v === 'number' ? v : 0;
}

function containersCell(obj: KubeObject, key: 'name' | 'image'): string {
  return list(obj, 'spec', 'template', 'spec', 'containers').map((c) => String(at(c, key) ?? '')).join(',');
}

export function daemonSetType(): ResourceType {
  return defineKind({
    group: 'apps',
    version: 'v1',
    kind: 'DaemonSet',
    plural: 'daemonsets',
    namespaced: true,
    shortNames: ['ds'],
    categories: ['all'],
    subresources: ['status'],
    columns: [
      column('Desired', 'integer', (o) => count(o, 'desiredNumberScheduled'), 0, 'The desired number of pods.'),
      column('Current', 'integer', (o) => count(o, 'currentNumberScheduled'), 0, 'The current number of pods.'),
      column('Ready', 'integer', (o) => count(o, 'numberReady'), 0, 'The number of pods ready.'),
      column('Up-to-date', 'integer', (o) => count(o, 'updatedNumberScheduled'), 0, 'The number of pods updated.'),
      column('Available', 'integer', (o) => count(o, 'numberAvailable'), 0, 'The number of pods available.'),
      column('Node Selector', 'string', (o) => formatLabels(at(o, 'spec', 'template', 'spec', 'nodeSelector')), 0, 'The node selector of the daemonset.'),
      column('Containers', 'string', (o) => containersCell(o, 'name'), 1, 'Names of each container in the template.'),
      column('Images', 'string', (o) => containersCell(o, 'image'), 1, 'Images referenced by each container in the template.'),
      column('Selector', 'string', (o) => formatLabelSelector(at(o, 'spec', 'selector')), 1, 'Label selector for pods.'),
    ],
    ageAt: 6,
    nameCheck: dns1123Subdomain,
    defaults: defaultDaemonSet,
    validate: validateDaemonSet,
  });
}

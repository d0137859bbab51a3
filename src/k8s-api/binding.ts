/**
 * `pods/NAME/binding`: a scheduler's Binding (v1) sets the pod's `spec.nodeName` once — the only way a stored pod gets
 * a node, since a pod update may not change it — and marks the pod PodScheduled=True, as the real BindingREST does.
 * Refusals are worded as kube-apiserver words them: 409 Conflict on `pods/binding` for a pod already bound or being
 * deleted, 409 on `pods` for a failed uid/resourceVersion precondition.
 */
import { invalidError, notSupported, required } from './field-errors.js';
import { notFound, timestamp, type ObjectApi } from './rest.js';
import { resourceKey } from './store.js';
import { apiError, type Cause, type KubeObject, type ResourceType, type Status } from './types.js';

/** A Success Status, as the real server answers a binding (no message, no reason). */
export type BindingAnswer = Pick<Status, 'kind' | 'apiVersion' | 'metadata' | 'status' | 'code'>;

type Obj = Record<string, unknown>;

function isRecord(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function badRequest(message: string) {
  return apiError(400, 'BadRequest', message);
}

function bindingConflict(name: string, why: string) {
  return apiError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding ${JSON.stringify(name)}: ${why}`, { name, kind: 'pods/binding' });
}

function podConflict(name: string, why: string) {
  return apiError(409, 'Conflict', `Operation cannot be fulfilled on pods ${JSON.stringify(name)}: ${why}`, { name, kind: 'pods' });
}

/** ValidatePodBinding: the target is a Node (or names no kind) and has a name. */
function validateBinding(target: Obj): Cause[] {
  const causes: Cause[] = [];
  const kind = target['kind'];
  if (kind !== undefined && kind !== '' && kind !== 'Node') causes.push(notSupported('target.kind', kind, ['Node', '<empty>']));
  const name = target['name'];
  if (typeof name !== 'string' || name === '') causes.push(required('target.name', ''));
  return causes;
}

/** UpdatePodCondition: PodScheduled=True replaces what the scheduler said before (its transition time kept if it was True). */
function scheduledCondition(status: Obj, now: string): Obj {
  const conditions = Array.isArray(status['conditions']) ? (status['conditions'] as unknown[]).filter(isRecord) : [];
  const old = conditions.find((c) => c['type'] === 'PodScheduled');
  const condition = { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: old?.['status'] === 'True' ? old['lastTransitionTime'] : now };
  return { ...status, conditions: old ? conditions.map((c) => (c === old ? condition : c)) : [...conditions, condition] };
}

/**
 * Answers POST `/api/v1/namespaces/NS/pods/NAME/binding`: binds the pod to `target.name` and answers a Success Status
 * (201), or throws the refusal. The Binding's metadata.uid and resourceVersion, when given, are preconditions on the pod;
 * its annotations are added to the pod's.
 */
export function answerBinding(api: ObjectApi, podType: ResourceType, namespace: string, name: string, body: unknown, now = Date.now()): BindingAnswer {
  if (!isRecord(body)) throw badRequest('the body of the request was in an unknown format - accepted media types include: application/json, application/yaml');
  if (body['kind'] !== undefined && body['kind'] !== 'Binding') throw badRequest(`not a Binding object: kind ${JSON.stringify(body['kind'])}`);
  if (body['apiVersion'] !== undefined && body['apiVersion'] !== 'v1') {
    throw badRequest(`the API version in the data (${String(body['apiVersion'])}) does not match the expected API version (v1)`);
  }
  const meta = isRecord(body['metadata']) ? body['metadata'] : {};
  if (meta['name'] !== name) throw badRequest('name in URL does not match name in Binding object');
  if (meta['namespace'] !== undefined && meta['namespace'] !== '' && meta['namespace'] !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const target = isRecord(body['target']) ? body['target'] : {};
  const causes = validateBinding(target);
  if (causes.length > 0) throw invalidError('Binding', '', name, causes);

  const pod = api.find(podType, namespace, name);
  if (!pod) throw notFound(podType, name);
  const uid = typeof meta['uid'] === 'string' ? meta['uid'] : '';
  const rv = typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : '';
  if (uid !== '' && uid !== pod.metadata.uid) throw podConflict(name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata.uid ?? ''}`);
  if (rv !== '' && rv !== pod.metadata.resourceVersion) {
    throw podConflict(name, `Precondition failed: ResourceVersion in precondition: ${rv}, ResourceVersion in object meta: ${pod.metadata.resourceVersion ?? ''}`);
  }
  const spec = isRecord(pod['spec']) ? pod['spec'] : {};
  if (pod.metadata.deletionTimestamp) throw bindingConflict(name, `pod ${name} is being deleted, cannot be assigned to a host`);
  if (typeof spec['nodeName'] === 'string' && spec['nodeName'] !== '') throw bindingConflict(name, `pod ${name} is already assigned to node ${JSON.stringify(spec['nodeName'])}`);
  if (Array.isArray(spec['schedulingGates']) && spec['schedulingGates'].length > 0) throw bindingConflict(name, `pod ${name} has non-empty .spec.schedulingGates`);

  const annotations = isRecord(meta['annotations']) ? (meta['annotations'] as Record<string, string>) : {};
  const bound: KubeObject = {
    ...pod,
    metadata: { ...pod.metadata, ...(Object.keys(annotations).length > 0 ? { annotations: { ...pod.metadata.annotations, ...annotations } } : {}) },
    spec: { ...spec, nodeName: target['name'] },
    status: scheduledCondition(isRecord(pod['status']) ? pod['status'] : {}, timestamp(now)),
  };
  const stored = api.store.put(resourceKey(podType.group, podType.plural), bound, 'MODIFIED', pod);
  api.hooks.afterWrite?.(podType, 'UPDATE', stored, pod);
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
}

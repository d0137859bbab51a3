/**
 * The pod spec as the server defaults and validates it — for Pods and for DaemonSet templates alike (SetDefaults_PodSpec,
 * SetDefaults_Container, ValidatePodSpec), with Kubernetes' values and messages.
 */
import type { Cause } from '../types.js';
import { dns1123Label, dns1123Subdomain, duplicate, invalid, isRecord, notSupported, required, typeInvalid } from './fields.js';
import { decodeQuantities, validateResources } from './quantity.js';

type Obj = Record<string, unknown>;

function setIfUnset(o: Obj, key: string, value: unknown): void {
  if (o[key] === undefined || o[key] === null) o[key] = value;
}

function records(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

/** The image's tag decides the pull policy: `:latest` or no tag pulls Always, anything else IfNotPresent. */
function defaultPullPolicy(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  if (colon < 0) return 'Always';
  return image.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(probe: unknown): void {
  if (!isRecord(probe)) return;
  setIfUnset(probe, 'timeoutSeconds', 1);
  setIfUnset(probe, 'periodSeconds', 10);
  setIfUnset(probe, 'successThreshold', 1);
  setIfUnset(probe, 'failureThreshold', 3);
  if (isRecord(probe.httpGet)) setIfUnset(probe.httpGet, 'scheme', 'HTTP');
}

function defaultContainer(c: Obj, hostNetwork: boolean, kind: string): void {
  if (isRecord(c.resources)) {
    decodeQuantities(c.resources.limits, kind);
    decodeQuantities(c.resources.requests, kind);
  }
  setIfUnset(c, 'imagePullPolicy', defaultPullPolicy(c.image));
  setIfUnset(c, 'terminationMessagePath', '/dev/termination-log');
  setIfUnset(c, 'terminationMessagePolicy', 'File');
  setIfUnset(c, 'resources', {});
  for (const p of records(c.ports)) {
    setIfUnset(p, 'protocol', 'TCP');
    if (hostNetwork) setIfUnset(p, 'hostPort', p.containerPort);
  }
  for (const e of records(c.env)) {
    const fieldRef = isRecord(e.valueFrom) ? e.valueFrom.fieldRef : undefined;
    if (isRecord(fieldRef)) setIfUnset(fieldRef, 'apiVersion', 'v1');
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

const volumeSources = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc', 'azureFile', 'configMap',
  'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected', 'portworxVolume', 'scaleIO', 'storageos',
  'csi', 'ephemeral', 'image',
];

function defaultVolume(v: Obj): void {
  for (const kind of ['secret', 'configMap']) {
    const src = v[kind];
    if (isRecord(src)) setIfUnset(src, 'defaultMode', 420);
  }
  if (isRecord(v.hostPath)) setIfUnset(v.hostPath, 'type', '');
  if (isRecord(v.projected)) setIfUnset(v.projected, 'defaultMode', 420);
  if (isRecord(v.downwardAPI)) setIfUnset(v.downwardAPI, 'defaultMode', 420);
  // SetDefaults_Volume: a volume that names no source is an emptyDir
  if (!volumeSources.some((k) => v[k] !== undefined && v[k] !== null)) v.emptyDir = {};
}

/** SetDefaults_PodSpec and its containers' and volumes' defaults (for pods and pod templates alike). */
export function defaultPodSpec(spec: Obj, kind: string): void {
  setIfUnset(spec, 'restartPolicy', 'Always');
  setIfUnset(spec, 'dnsPolicy', 'ClusterFirst');
  setIfUnset(spec, 'schedulerName', 'default-scheduler');
  setIfUnset(spec, 'terminationGracePeriodSeconds', 30);
  setIfUnset(spec, 'securityContext', {});
  setIfUnset(spec, 'enableServiceLinks', true);
  setIfUnset(spec, 'preemptionPolicy', 'PreemptLowerPriority');
  setIfUnset(spec, 'priority', 0);
  // the v1 conversion mirrors serviceAccountName and the deprecated serviceAccount into each other
  if (typeof spec.serviceAccountName !== 'string' && typeof spec.serviceAccount === 'string') spec.serviceAccountName = spec.serviceAccount;
  if (typeof spec.serviceAccountName === 'string') setIfUnset(spec, 'serviceAccount', spec.serviceAccountName);
  const hostNetwork = spec.hostNetwork === true;
  for (const c of [...records(spec.containers), ...records(spec.initContainers)]) defaultContainer(c, hostNetwork, kind);
  for (const v of records(spec.volumes)) defaultVolume(v);
}

/** What a Pod (not a template) gets on top: the ServiceAccount admission's `default`, requests defaulted from limits. */
export function defaultPodOnly(spec: Obj): void {
  if (typeof spec.serviceAccountName !== 'string' || spec.serviceAccountName === '') {
    spec.serviceAccountName = 'default';
    spec.serviceAccount = 'default';
  }
  for (const c of [...records(spec.containers), ...records(spec.initContainers)]) {
    const resources = isRecord(c.resources) ? c.resources : undefined;
    if (!resources || !isRecord(resources.limits)) continue;
    const requests = isRecord(resources.requests) ? resources.requests : (resources.requests = {});
    for (const [name, quantity] of Object.entries(resources.limits)) setIfUnset(requests, name, quantity);
  }
}

/** The DefaultTolerationSeconds admission plugin: tolerate not-ready and unreachable nodes for 300s. */
export function defaultTolerationSeconds(spec: Obj): void {
  const tolerations = records(spec.tolerations);
  const add: Obj[] = [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    const has = tolerations.some((t) => (t.key === key || (t.key === undefined && t.operator === 'Exists')) && (t.effect === undefined || t.effect === '' || t.effect === 'NoExecute'));
    if (!has) add.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
  if (add.length) spec.tolerations = [...(Array.isArray(spec.tolerations) ? spec.tolerations : []), ...add];
}

const envVarNameRe = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const envVarNameMsg =
  "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";
const portNameMsgs = {
  long: 'must be no more than 15 characters',
  chars: "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
  letter: 'must contain at least one letter (a-z)',
  hyphens: 'must not contain consecutive hyphens',
  ends: 'must not begin or end with a hyphen',
};

/** validation.IsValidPortName. */
function portName(name: string): string[] {
  const errs: string[] = [];
  if (name.length > 15) errs.push(portNameMsgs.long);
  if (!/^[-a-z0-9]+$/.test(name)) errs.push(portNameMsgs.chars);
  if (!/[a-z]/.test(name)) errs.push(portNameMsgs.letter);
  if (name.includes('--')) errs.push(portNameMsgs.hyphens);
  if (name.startsWith('-') || name.endsWith('-')) errs.push(portNameMsgs.ends);
  return errs;
}

function validPort(field: string, port: unknown): Cause[] {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    return [invalid(field, port ?? 0, 'must be between 1 and 65535, inclusive')];
  }
  return [];
}

function validateContainers(list: unknown, field: string, volumeNames: Set<string>, names: Set<string>, requiredList: boolean): Cause[] {
  const causes: Cause[] = [];
  if (list === undefined || list === null || (Array.isArray(list) && list.length === 0)) {
    return requiredList ? [required(field)] : [];
  }
  if (!Array.isArray(list)) return [typeInvalid(field, list, 'must be a list')];
  list.forEach((raw, i) => {
    const at = `${field}[${i}]`;
    const c = isRecord(raw) ? raw : {};
    if (typeof c.name !== 'string' || c.name === '') causes.push(required(`${at}.name`));
    else {
      for (const msg of dns1123Label(c.name)) causes.push(invalid(`${at}.name`, c.name, msg));
      if (names.has(c.name)) causes.push(duplicate(`${at}.name`, c.name));
      names.add(c.name);
    }
    if (typeof c.image !== 'string' || c.image.trim() === '') causes.push(required(`${at}.image`));
    causes.push(...validateResources(c.resources, `${at}.resources`));
    if (c.imagePullPolicy !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(String(c.imagePullPolicy))) {
      causes.push(notSupported(`${at}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']));
    }
    if (c.terminationMessagePolicy !== undefined && !['File', 'FallbackToLogsOnError'].includes(String(c.terminationMessagePolicy))) {
      causes.push(notSupported(`${at}.terminationMessagePolicy`, c.terminationMessagePolicy, ['File', 'FallbackToLogsOnError']));
    }
    const portNames = new Set<string>();
    records(c.ports).forEach((p, j) => {
      const pf = `${at}.ports[${j}]`;
      if (typeof p.name === 'string' && p.name !== '') {
        for (const msg of portName(p.name)) causes.push(invalid(`${pf}.name`, p.name, msg));
        if (portNames.has(p.name)) causes.push(duplicate(`${pf}.name`, p.name));
        portNames.add(p.name);
      }
      if (p.containerPort === undefined || p.containerPort === 0) causes.push(required(`${pf}.containerPort`));
      else causes.push(...validPort(`${pf}.containerPort`, p.containerPort));
      if (p.hostPort !== undefined && p.hostPort !== 0) causes.push(...validPort(`${pf}.hostPort`, p.hostPort));
      if (p.protocol !== undefined && !['SCTP', 'TCP', 'UDP'].includes(String(p.protocol))) {
        causes.push(notSupported(`${pf}.protocol`, p.protocol, ['SCTP', 'TCP', 'UDP']));
      }
    });
    if (c.env !== undefined && !Array.isArray(c.env)) causes.push(typeInvalid(`${at}.env`, c.env, 'must be a list'));
    records(c.env).forEach((e, j) => {
      const ef = `${at}.env[${j}]`;
      if (typeof e.name !== 'string' || e.name === '') causes.push(required(`${ef}.name`));
      else if (!envVarNameRe.test(e.name)) causes.push(invalid(`${ef}.name`, e.name, envVarNameMsg));
      if (e.value !== undefined && e.valueFrom !== undefined && e.value !== '') {
        causes.push(invalid(`${ef}.valueFrom`, '', "may not be specified when `value` is not empty"));
      }
      if (e.value !== undefined && typeof e.value !== 'string') causes.push(typeInvalid(`${ef}.value`, e.value, 'must be a string'));
    });
    const mountPaths = new Set<string>();
    records(c.volumeMounts).forEach((m, j) => {
      const mf = `${at}.volumeMounts[${j}]`;
      if (typeof m.name !== 'string' || m.name === '') causes.push(required(`${mf}.name`));
      else if (!volumeNames.has(m.name)) causes.push({ reason: 'FieldValueNotFound', message: `Not found: ${JSON.stringify(m.name)}`, field: `${mf}.name` });
      if (typeof m.mountPath !== 'string' || m.mountPath === '') causes.push(required(`${mf}.mountPath`));
      else {
        if (mountPaths.has(m.mountPath)) causes.push(invalid(`${mf}.mountPath`, m.mountPath, 'must be unique'));
        mountPaths.add(m.mountPath);
      }
    });
  });
  return causes;
}

/** ValidatePodSpec (the parts podnet's objects exercise), fields under `field` (`spec`, `spec.template.spec`). */
export function validatePodSpec(spec: unknown, field: string): Cause[] {
  if (!isRecord(spec)) return [required(`${field}.containers`)];
  const causes: Cause[] = [];
  const volumeNames = new Set<string>();
  records(spec.volumes).forEach((v, i) => {
    const vf = `${field}.volumes[${i}]`;
    if (typeof v.name !== 'string' || v.name === '') causes.push(required(`${vf}.name`));
    else {
      for (const msg of dns1123Label(v.name)) causes.push(invalid(`${vf}.name`, v.name, msg));
      if (volumeNames.has(v.name)) causes.push(duplicate(`${vf}.name`, v.name));
      volumeNames.add(v.name);
    }
    if (isRecord(v.hostPath) && (typeof v.hostPath.path !== 'string' || v.hostPath.path === '')) causes.push(required(`${vf}.hostPath.path`));
  });
  const names = new Set<string>();
  causes.push(...validateContainers(spec.initContainers, `${field}.initContainers`, volumeNames, names, false));
  causes.push(...validateContainers(spec.containers, `${field}.containers`, volumeNames, names, true));
  if (spec.restartPolicy !== undefined && !['Always', 'OnFailure', 'Never'].includes(String(spec.restartPolicy))) {
    causes.push(notSupported(`${field}.restartPolicy`, spec.restartPolicy, ['Always', 'OnFailure', 'Never']));
  }
  const dnsPolicies = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
  if (spec.dnsPolicy !== undefined && !dnsPolicies.includes(String(spec.dnsPolicy))) causes.push(notSupported(`${field}.dnsPolicy`, spec.dnsPolicy, dnsPolicies));
  if (spec.terminationGracePeriodSeconds !== undefined && typeof spec.terminationGracePeriodSeconds !== 'number') {
    causes.push(typeInvalid(`${field}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, 'must be an integer'));
  }
  if (typeof spec.activeDeadlineSeconds === 'number' && spec.activeDeadlineSeconds <= 0) {
    causes.push(invalid(`${field}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be greater than 0'));
  }
  if (typeof spec.serviceAccountName === 'string' && spec.serviceAccountName !== '') {
    for (const msg of dns1123Subdomain(spec.serviceAccountName)) causes.push(invalid(`${field}.serviceAccountName`, spec.serviceAccountName, msg));
  }
  if (typeof spec.nodeName === 'string' && spec.nodeName !== '') {
    for (const msg of dns1123Subdomain(spec.nodeName)) causes.push(invalid(`${field}.nodeName`, spec.nodeName, msg));
  }
  if (typeof spec.hostname === 'string' && spec.hostname !== '') {
    for (const msg of dns1123Label(spec.hostname)) causes.push(invalid(`${field}.hostname`, spec.hostname, msg));
  }
  records(spec.tolerations).forEach((t, i) => {
    const tf = `${field}.tolerations[${i}]`;
    if (t.operator !== undefined && !['Equal', 'Exists'].includes(String(t.operator))) causes.push(notSupported(`${tf}.operator`, t.operator, ['Equal', 'Exists']));
    if (t.operator === 'Exists' && typeof t.value === 'string' && t.value !== '') {
      causes.push(invalid(`${tf}.operator`, t.value, 'value must be empty when `operator` is \'Exists\''));
    }
    if ((t.key === undefined || t.key === '') && t.operator !== 'Exists') {
      causes.push(invalid(`${tf}.operator`, t.operator ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (t.effect !== undefined && t.effect !== '' && !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(String(t.effect))) {
      causes.push(notSupported(`${tf}.effect`, t.effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']));
    }
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') {
      causes.push(invalid(`${tf}.effect`, t.effect ?? '', 'effect must be \'NoExecute\' when `tolerationSeconds` is set'));
    }
  });
  return causes;
}

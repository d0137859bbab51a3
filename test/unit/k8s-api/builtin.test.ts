import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { builtinTypes, podSummary } from '../../../src/k8s-api/builtin/index.js';
import { ApiError, type Cause, type KubeObject, type ResourceType } from '../../../src/k8s-api/types.js';

const types = builtinTypes();
const typeFor = (group: string, plural: string): ResourceType => types.find((t) => t.group === group && t.plural === plural)!;
const podType = typeFor('', 'pods');
const dsType = typeFor('apps', 'daemonsets');

/** Defaults then validation, as the server runs them; the causes as `field: message` lines. */
function check(type: ResourceType, obj: KubeObject, old?: KubeObject): string[] {
  type.applyDefaults(obj);
  return type.validate(obj, old).map((c: Cause) => `${c.field}: ${c.message}`);
}

function cell(type: ResourceType, name: string, obj: KubeObject): unknown {
  return type.printerColumns.find((c) => c.name === name)!.cell(obj);
}

describe('discovery facts of every built-in kind', () => {
  test('names, scope, short names, categories and subresources as a real cluster lists them', () => {
    const facts = types.map((t) => [`${t.group}/${t.version}`, t.plural, t.singular, t.kind, t.namespaced, t.shortNames.join(','), t.categories.join(','), t.subresources.join(',')].join(' '));
    assert.deepEqual(facts, [
      '/v1 namespaces namespace Namespace false ns  status',
      '/v1 nodes node Node false no  status',
      '/v1 pods pod Pod true po all binding,status',
      '/v1 serviceaccounts serviceaccount ServiceAccount true sa  token',
      '/v1 secrets secret Secret true   ',
      '/v1 configmaps configmap ConfigMap true cm  ',
      '/v1 events event Event true ev  ',
      'apps/v1 daemonsets daemonset DaemonSet true ds all status',
      'events.k8s.io/v1 events event Event true ev  ',
      'coordination.k8s.io/v1 leases lease Lease true   ',
      'rbac.authorization.k8s.io/v1 clusterroles clusterrole ClusterRole false   ',
      'rbac.authorization.k8s.io/v1 clusterrolebindings clusterrolebinding ClusterRoleBinding false   ',
      'rbac.authorization.k8s.io/v1 roles role Role true   ',
      'rbac.authorization.k8s.io/v1 rolebindings rolebinding RoleBinding true   ',
      'admissionregistration.k8s.io/v1 mutatingwebhookconfigurations mutatingwebhookconfiguration MutatingWebhookConfiguration false  api-extensions ',
      'admissionregistration.k8s.io/v1 validatingwebhookconfigurations validatingwebhookconfiguration ValidatingWebhookConfiguration false  api-extensions ',
    ]);
    assert.ok(types.every((t) => t.strategicMerge && t.listKind === `${t.kind}List`));
    assert.deepEqual(typeFor('', 'namespaces').verbs, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']);
    assert.deepEqual(podType.verbs, ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']);
  });

  test("kubectl get's columns, wide ones at priority 1", () => {
    const cols = (t: ResourceType) => t.printerColumns.map((c) => (c.priority ? `(${c.name})` : c.name)).join(' ');
    assert.equal(cols(podType), 'Ready Status Restarts Age (IP) (Node) (Nominated Node) (Readiness Gates)');
    assert.equal(cols(typeFor('', 'nodes')), 'Status Roles Age Version (Internal-IP) (External-IP) (OS-Image) (Kernel-Version) (Container-Runtime)');
    assert.equal(cols(dsType), 'Desired Current Ready Up-to-date Available Node Selector Age (Containers) (Images) (Selector)');
    assert.equal(cols(typeFor('', 'secrets')), 'Type Data Age');
    assert.equal(cols(typeFor('rbac.authorization.k8s.io', 'clusterroles')), 'Created At');
    assert.equal(cols(typeFor('rbac.authorization.k8s.io', 'rolebindings')), 'Role Age (Users) (Groups) (ServiceAccounts)');
  });
});

describe('Pod', () => {
  test('server-side defaults as a real API server fills them', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }], env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }], resources: { limits: { 'vpc.amazonaws.com/pod-eni': '1' } } }],
        volumes: [{ name: 'cfg', configMap: { name: 'c' } }, { name: 'scratch' }],
      },
    };
    assert.deepEqual(check(podType, pod), []);
    assert.deepEqual(pod.spec, {
      containers: [
        {
          name: 'web',
          image: 'nginx',
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName', apiVersion: 'v1' } } }],
          resources: { limits: { 'vpc.amazonaws.com/pod-eni': '1' }, requests: { 'vpc.amazonaws.com/pod-eni': '1' } },
          imagePullPolicy: 'Always',
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
        },
      ],
      volumes: [{ name: 'cfg', configMap: { name: 'c', defaultMode: 420 } }, { name: 'scratch', emptyDir: {} }],
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      terminationGracePeriodSeconds: 30,
      securityContext: {},
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      serviceAccountName: 'default',
      serviceAccount: 'default',
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
    });
    assert.deepEqual(pod.status, { phase: 'Pending', qosClass: 'BestEffort' });
  });

  test('image tags decide the pull policy; hostNetwork ports get hostPort', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: {
        hostNetwork: true,
        containers: [
          { name: 'a', image: 'registry:5000/x:v1', ports: [{ containerPort: 61678 }] },
          { name: 'b', image: 'x:latest', resources: { requests: { cpu: '1' }, limits: { cpu: '1', memory: '1Gi' } } },
          { name: 'c', image: 'registry:5000/x' },
        ],
      },
    };
    check(podType, pod);
    const containers = (pod.spec as any).containers;
    assert.deepEqual(containers.map((c: any) => c.imagePullPolicy), ['IfNotPresent', 'Always', 'Always']);
    assert.deepEqual(containers[0].ports, [{ containerPort: 61678, protocol: 'TCP', hostPort: 61678 }]);
    assert.equal((pod.status as any).qosClass, 'Burstable');
  });

  test('validation causes carry Kubernetes fields, reasons and messages', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'Bad_Name', namespace: 'default', labels: { 'a/b/c': 'x', ok: 'bad value' }, annotations: { 'x..y/z': '' } },
      spec: {
        restartPolicy: 'Sometimes',
        containers: [{ name: 'c', ports: [{ containerPort: 70000, protocol: 'tcp' }], env: [{ name: '1X', value: 'v' }], volumeMounts: [{ name: 'missing', mountPath: '/m' }] }, { name: 'c', image: 'i' }],
      },
    };
    assert.deepEqual(check(podType, pod), [
      `metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      `metadata.labels: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
      `metadata.labels: Invalid value: "bad value": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
      `metadata.annotations: Invalid value: "x..y/z": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      'spec.containers[0].image: Required value',
      'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[0].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"',
      `spec.containers[0].env[0].name: Invalid value: "1X": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')`,
      'spec.containers[0].volumeMounts[0].name: Not found: "missing"',
      'spec.containers[1].name: Duplicate value: "c"',
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ]);
    const reasons = podType.validate(pod, undefined).map((c) => c.reason);
    assert.deepEqual([...new Set(reasons)].sort(), ['FieldValueDuplicate', 'FieldValueInvalid', 'FieldValueNotFound', 'FieldValueNotSupported', 'FieldValueRequired']);
    const empty: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'default' }, spec: {} };
    assert.deepEqual(check(podType, empty), ['metadata.name: Required value: name or generateName is required', 'spec.containers: Required value']);
  });

  test('resources: quantities decoded (numbers stored as strings, garbage is a 400), extended resources whole and unovercommitted', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { cpu: 0.5, 'vpc.amazonaws.com/pod-eni': '2' }, requests: { 'vpc.amazonaws.com/pod-eni': '1', 'example.com/foo': '1.5' } } }] },
    };
    assert.deepEqual(check(podType, pod), [
      'spec.containers[0].resources.requests: Invalid value: "1": must be equal to vpc.amazonaws.com/pod-eni limit of 2',
      'spec.containers[0].resources.requests[example.com/foo]: Invalid value: "1.5": must be an integer',
      'spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources',
    ]);
    assert.deepEqual((pod.spec as any).containers[0].resources.requests.cpu, '500m');
    const garbage: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { memory: 'lots' } } }] } };
    assert.throws(() => podType.applyDefaults(garbage), (e: unknown) => e instanceof ApiError && e.status.code === 400 && /^Pod in version "v1" cannot be handled as a Pod: quantities must match/.test(e.status.message));
  });

  test('updates may change images and add tolerations, nothing else of the spec', () => {
    const old: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'i:1' }] } };
    podType.applyDefaults(old);
    const next = structuredClone(old) as any;
    next.spec.containers[0].image = 'i:2';
    next.spec.tolerations.push({ key: 'k', operator: 'Exists' });
    next.metadata.labels = { a: 'b' };
    assert.deepEqual(podType.validate(next, old), []);
    next.spec.hostNetwork = true;
    next.spec.containers[0].env = [{ name: 'A', value: '1' }];
    const causes = podType.validate(next, old);
    assert.equal(causes.length, 1);
    assert.equal(causes[0]!.field, 'spec');
    assert.equal(causes[0]!.reason, 'FieldValueForbidden');
    assert.match(causes[0]!.message, /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`,/);
    assert.match(causes[0]!.message, /spec.containers, spec.hostNetwork$/);
  });

  test('status IPs: valid, unique, one per family', () => {
    const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    podType.applyDefaults(pod);
    pod.status = { phase: 'Running', podIP: '10.0.1.5', podIPs: [{ ip: '10.0.1.5' }, { ip: '10.0.1.6' }, { ip: 'nope' }], hostIPs: [{ ip: '10.0.1.10' }, { ip: '10.0.1.10' }] };
    assert.deepEqual(podType.validate(pod, undefined).map((c) => `${c.field}: ${c.message}`), [
      'status.podIPs[2]: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
      'status.podIPs: Invalid value: ["10.0.1.5","10.0.1.6","nope"]: may specify no more than one IP for each IP family',
      'status.hostIPs[1]: Duplicate value: "10.0.1.10"',
      'status.hostIPs: Invalid value: ["10.0.1.10","10.0.1.10"]: may specify no more than one IP for each IP family',
    ]);
    pod.status = { phase: 'Running', podIP: '10.0.1.5', podIPs: [{ ip: '10.0.1.5' }, { ip: 'fd00::5' }] };
    assert.deepEqual(podType.validate(pod, undefined), []);
  });

  test('READY, STATUS and RESTARTS as kubectl shows them', () => {
    const pod = (status: unknown, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', ...extra },
      spec: { containers: [{ name: 'a' }, { name: 'b' }], initContainers: [{ name: 'i' }] },
      status,
    });
    const running = { state: { running: {} }, ready: true, restartCount: 0 };
    assert.deepEqual(podSummary(pod({ phase: 'Pending' })), { ready: '0/2', status: 'Pending', restarts: '0' });
    assert.deepEqual(podSummary(pod({ phase: 'Running', containerStatuses: [running, { ...running, restartCount: 2 }] })), { ready: '2/2', status: 'Running', restarts: '2' });
    assert.equal(podSummary(pod({ phase: 'Pending', containerStatuses: [{ state: { waiting: { reason: 'ContainerCreating' } } }, running] })).status, 'ContainerCreating');
    assert.equal(podSummary(pod({ phase: 'Running', containerStatuses: [{ state: { terminated: { exitCode: 137, reason: '' } } }, running] })).status, 'ExitCode:137');
    assert.equal(podSummary(pod({ phase: 'Pending', initContainerStatuses: [{ state: { waiting: { reason: 'PodInitializing' } } }] })).status, 'Init:0/1');
    assert.equal(podSummary(pod({ phase: 'Pending', initContainerStatuses: [{ state: { terminated: { exitCode: 1, reason: 'Error' } } }] })).status, 'Init:Error');
    assert.equal(podSummary(pod({ phase: 'Running', containerStatuses: [running, running] }, { deletionTimestamp: '2026-01-01T00:00:00Z' })).status, 'Terminating');
    const now = Date.parse('2026-01-01T00:10:00Z');
    const restarted = { ...running, restartCount: 3, lastState: { terminated: { finishedAt: '2026-01-01T00:05:00Z' } } };
    assert.equal(podSummary(pod({ phase: 'Running', containerStatuses: [restarted, running] }), now).restarts, '3 (5m ago)');
    assert.equal(cell(podType, 'IP', pod({ podIP: '10.0.1.5' })), '10.0.1.5');
    assert.equal(cell(podType, 'Node', pod({})), '<none>');
  });
});

describe('DaemonSet', () => {
  const aws = (): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'aws-node', namespace: 'kube-system' },
    spec: {
      selector: { matchLabels: { 'k8s-app': 'aws-node' } },
      template: { metadata: { labels: { 'k8s-app': 'aws-node' } }, spec: { serviceAccountName: 'aws-node', nodeSelector: { 'kubernetes.io/os': 'linux' }, containers: [{ name: 'aws-node', image: 'cni:v1' }] } },
    },
  });

  test('defaults: revision history, rolling update 1/0, the template as a pod spec, a zero status', () => {
    const ds = aws();
    assert.deepEqual(check(dsType, ds), []);
    const spec = ds.spec as any;
    assert.equal(spec.revisionHistoryLimit, 10);
    assert.deepEqual(spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    assert.equal(spec.template.spec.dnsPolicy, 'ClusterFirst');
    assert.equal(spec.template.spec.serviceAccount, 'aws-node');
    assert.equal(spec.template.spec.tolerations, undefined, 'no admission defaults in a template');
    assert.deepEqual(ds.status, { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 });
    assert.equal(cell(dsType, 'Node Selector', ds), 'kubernetes.io/os=linux');
    assert.equal(cell(dsType, 'Selector', ds), 'k8s-app=aws-node');
    assert.equal(cell(dsType, 'Images', ds), 'cni:v1');
  });

  test('selector required, matching the template, immutable; restartPolicy Always', () => {
    const none = aws();
    delete (none.spec as any).selector;
    assert.deepEqual(check(dsType, none), ['spec.selector: Required value']);
    const mismatch = aws();
    (mismatch.spec as any).selector.matchLabels = { app: 'other' };
    assert.deepEqual(check(dsType, mismatch), ['spec.template.metadata.labels: Invalid value: map[string]string{"k8s-app":"aws-node"}: `selector` does not match template `labels`']);
    const never = aws();
    (never.spec as any).template.spec.restartPolicy = 'Never';
    assert.deepEqual(check(dsType, never), ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']);
    const old = aws();
    dsType.applyDefaults(old);
    const moved = structuredClone(old) as any;
    moved.spec.selector.matchExpressions = [{ key: 'k8s-app', operator: 'Exists' }];
    assert.deepEqual(dsType.validate(moved, old).map((c) => c.field), ['spec.selector']);
    assert.match(dsType.validate(moved, old)[0]!.message, /: field is immutable$/);
    const counted = structuredClone(old) as any;
    counted.status.numberReady = -1;
    assert.deepEqual(dsType.validate(counted, old).map((c) => `${c.field}: ${c.message}`), ['status.numberReady: Invalid value: -1: must be greater than or equal to 0']);
  });
});

describe('other kinds', () => {
  test('Namespace: DNS-1123 label names, kubernetes finalizer, Active, its name label', () => {
    const nsType = typeFor('', 'namespaces');
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } };
    assert.deepEqual(check(nsType, ns), []);
    assert.deepEqual([ns.spec, ns.status, ns.metadata.labels], [{ finalizers: ['kubernetes'] }, { phase: 'Active' }, { 'kubernetes.io/metadata.name': 'kube-system' }]);
    const dotted: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } };
    assert.match(check(nsType, dotted)[0]!, /^metadata.name: Invalid value: "a.b": a lowercase RFC 1123 label must consist of/);
    const ns2: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' }, spec: { finalizers: ['custom'] } };
    assert.deepEqual(check(nsType, ns2), ['spec.finalizers: Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified']);
  });

  test('Node: allocatable from capacity (extended resources too), taints checked, NODE columns', () => {
    const nodeType = typeFor('', 'nodes');
    const node: KubeObject = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'ip-10-0-1-10.ec2.internal', labels: { 'node-role.kubernetes.io/worker': '', 'kubernetes.io/role': 'cni' } },
      spec: { unschedulable: true, taints: [{ key: 'a', effect: 'NoSchedule' }, { key: 'a', effect: 'NoSchedule' }, { key: 'b', effect: 'Sometimes' }] },
      status: { capacity: { cpu: '2', 'vpc.amazonaws.com/pod-eni': '9' }, conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '10.0.1.10' }], nodeInfo: { kubeletVersion: 'v1.30.0' } },
    };
    assert.deepEqual(check(nodeType, node), [
      'spec.taints[1]: Duplicate value: {"key":"a","effect":"NoSchedule"}: taints must be unique by key and effect pair',
      'spec.taints[2].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
    ]);
    assert.deepEqual((node.status as any).allocatable, { cpu: '2', 'vpc.amazonaws.com/pod-eni': '9' });
    assert.deepEqual(['Status', 'Roles', 'Version', 'Internal-IP', 'External-IP', 'OS-Image'].map((c) => cell(nodeType, c, node)), ['Ready,SchedulingDisabled', 'cni,worker', 'v1.30.0', '10.0.1.10', '<none>', '<unknown>']);
  });

  test('Secret: Opaque, stringData folded into data, base64 checked with a 400, type immutable', () => {
    const secretType = typeFor('', 'secrets');
    const s: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, stringData: { password: 'hunter2' }, data: { 'bad key': 'eA==' } };
    assert.deepEqual(check(secretType, s), [
      `data[bad key]: Invalid value: "bad key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
    ]);
    assert.deepEqual([s.type, s.data, s.stringData], ['Opaque', { 'bad key': 'eA==', password: 'aHVudGVyMg==' }, undefined]);
    for (const [value, at] of [['!!!!', 0], ['eA=', 3], ['e===', 1], ['eHl6', -1], ['eHl6e', 4], ['eA==eA==', 4]] as const) {
      const bad: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: { a: value } };
      if (at < 0) {
        assert.deepEqual(check(secretType, bad), []);
        continue;
      }
      try {
        check(secretType, bad);
        assert.fail(`${value} should be refused`);
      } catch (e) {
        assert.ok(e instanceof ApiError);
        assert.deepEqual([e.status.code, e.status.message], [400, `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${at}`]);
      }
    }
    const token: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 't', namespace: 'default' }, type: 'kubernetes.io/service-account-token' };
    assert.deepEqual(check(secretType, token), ['metadata.annotations[kubernetes.io/service-account.name]: Required value']);
    const old: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, type: 'Opaque' };
    assert.deepEqual(check(secretType, { ...old, type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } }, old), ['type: Invalid value: "kubernetes.io/tls": field is immutable']);
  });

  test('RBAC: path-segment names, rule and binding checks, subject apiGroup defaults, roleRef immutable', () => {
    const crType = typeFor('rbac.authorization.k8s.io', 'clusterroles');
    const roleType = typeFor('rbac.authorization.k8s.io', 'roles');
    const rbType = typeFor('rbac.authorization.k8s.io', 'rolebindings');
    const cr: KubeObject = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:aws-node' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { resources: ['nodes'] }, { nonResourceURLs: ['/healthz'], verbs: ['get'] }] };
    assert.deepEqual(check(crType, cr), ['rules[1].verbs: Required value: verbs must contain at least one value', 'rules[1].apiGroups: Required value: resource rules must supply at least one api group']);
    const role: KubeObject = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r/x', namespace: 'default' }, rules: [{ nonResourceURLs: ['/x'], verbs: ['get'] }] };
    assert.deepEqual(check(roleType, role), ["metadata.name: Invalid value: \"r/x\": may not contain '/'", 'rules[0].nonResourceURLs: Invalid value: ["/x"]: namespaced rules cannot apply to non-resource URLs']);
    const rb: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'b', namespace: 'kube-system' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'aws-node', namespace: 'kube-system' }, { kind: 'User', name: 'alice' }, { kind: 'Robot', name: 'r2' }],
    };
    assert.deepEqual(check(rbType, rb), ['subjects[2].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"']);
    // a ServiceAccount's "" is left out, as Kubernetes' omitempty encoding does, so a re-apply finds nothing changed
    assert.deepEqual((rb.subjects as any[]).map((s) => s.apiGroup), [undefined, 'rbac.authorization.k8s.io', undefined]);
    const changed = { ...structuredClone(rb), subjects: [], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' } };
    assert.deepEqual(rbType.validate(changed, rb).map((c) => `${c.field}: ${c.message.split(':')[0]}`), ['roleRef: Invalid value']);
    assert.match(rbType.validate(changed, rb)[0]!.message, /cannot change roleRef$/);
    assert.equal(cell(rbType, 'Role', rb), 'ClusterRole/view');
    assert.equal(cell(rbType, 'ServiceAccounts', rb), 'kube-system/aws-node');
  });

  test('MutatingWebhookConfiguration: v1 defaults and checks', () => {
    const whType = typeFor('admissionregistration.k8s.io', 'mutatingwebhookconfigurations');
    const wh: KubeObject = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'vpc-resource-mutating-webhook' },
      webhooks: [
        { name: 'mpod.vpc.k8s.aws', admissionReviewVersions: ['v1'], sideEffects: 'None', clientConfig: { url: 'https://127.0.0.1:9443/mutate' }, rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }] },
        { name: 'short', clientConfig: { url: 'http://x/y' } },
      ],
    };
    assert.deepEqual(check(whType, wh), [
      'webhooks[1].name: Invalid value: "short": should be a domain with at least three segments separated by dots',
      'webhooks[1].admissionReviewVersions: Required value: must specify one of v1, v1beta1',
      'webhooks[1].sideEffects: Required value: must specify one of None, NoneOnDryRun',
      `webhooks[1].clientConfig.url: Invalid value: "http://x/y": 'https' is the only allowed URL scheme`,
    ]);
    const first = (wh.webhooks as any[])[0];
    assert.deepEqual([first.failurePolicy, first.matchPolicy, first.timeoutSeconds, first.reinvocationPolicy, first.namespaceSelector, first.rules[0].scope], ['Fail', 'Equivalent', 10, 'Never', {}, '*']);
  });

  test('Lease and ConfigMap', () => {
    const lease: KubeObject = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'n1', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'n1', leaseDurationSeconds: 0 } };
    assert.deepEqual(check(typeFor('coordination.k8s.io', 'leases'), lease), ['spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0']);
    const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'amazon-vpc-cni', namespace: 'kube-system' }, data: { 'enable-network-policy-controller': 'false', 'x/y': '1' } };
    assert.deepEqual(check(typeFor('', 'configmaps'), cm).map((c) => c.split(': ')[0]), ['data[x/y]']);
    assert.equal(cell(typeFor('', 'configmaps'), 'Data', cm), 2);
  });
});

describe('Event (v1 and events.k8s.io/v1)', () => {
  const v1Type = typeFor('', 'events');
  const newType = typeFor('events.k8s.io', 'events');

  test('a v1 event as client-go records it: only its namespace must match its object', () => {
    const ev: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'aws-node-x.17e0', namespace: 'kube-system' },
      involvedObject: { kind: 'Pod', name: 'aws-node-x', namespace: 'kube-system', fieldPath: 'spec.containers{aws-node}' },
      reason: 'Started',
      message: 'Started container aws-node ',
      type: 'Normal',
      source: { component: 'kubelet', host: 'ip-10-0-1-10' },
      firstTimestamp: '2026-01-01T00:00:00Z',
      lastTimestamp: '2026-01-01T00:00:00Z',
      count: 3,
    };
    assert.deepEqual(check(v1Type, ev), []);
    assert.deepEqual([ev.reportingComponent, ev.reportingInstance, ev.eventTime], ['', '', null]);
    const row = v1Type.printerColumns.map((c) => (c.name === 'Last Seen' || c.name === 'First Seen' ? typeof c.cell(ev) : c.cell(ev)));
    assert.deepEqual(row, ['string', 'Normal', 'Started', 'pod/aws-node-x', 'spec.containers{aws-node}', 'kubelet, ip-10-0-1-10', 'Started container aws-node', 'string', 3, 'aws-node-x.17e0']);
    const elsewhere = { ...structuredClone(ev), metadata: { name: 'e', namespace: 'default' } };
    assert.deepEqual(check(v1Type, elsewhere), ['involvedObject.namespace: Invalid value: "kube-system": does not match event.namespace']);
  });

  test('an events.k8s.io/v1 event needs eventTime, the reporting fields, action, reason and a known type', () => {
    const ev: KubeObject = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'e', namespace: 'default' }, regarding: { kind: 'Node', name: 'n1' }, type: 'Info', deprecatedCount: 2 };
    assert.deepEqual(check(newType, ev), [
      'eventTime: Required value',
      'type: Invalid value: "": has invalid value: Info',
      'count: Invalid value: "": needs to be unset',
    ]);
    const ok: KubeObject = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'e', namespace: 'default' }, eventTime: '2026-01-01T00:00:00.000000Z', reportingController: 'podnet.io/ipamd', reportingInstance: 'ipamd-n1', action: 'Assign', reason: 'IPAssigned', regarding: { kind: 'Node', name: 'n1' }, note: 'assigned 10.0.1.5', type: 'Normal' };
    assert.deepEqual(check(newType, ok), []);
    assert.equal(cell(newType, 'Object', ok), 'node/n1');
    assert.equal(cell(newType, 'Message', ok), 'assigned 10.0.1.5');
    delete ok.action;
    assert.deepEqual(check(newType, ok), ['action: Required value']);
  });
});

/**
 * deploy/ is what `kubectl apply -f deploy/` installs in place of aws-node: every document is checked offline
 * against the Kubernetes schemas (kubernetes-models), a broken copy is refused, and the DaemonSet keeps the
 * contract the lab and a real cluster rely on — upstream's names, podnet's image, commands podnet has, an env
 * `podnet config` accepts, and a ClusterRole bound to the ServiceAccount the pods run as.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import type { Command } from 'commander';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parseAllDocuments } from 'yaml';
import { buildProgram } from '../../../src/cli/main.js';
import { loadConfig, parseEnvText } from '../../../src/config/index.js';
import { PODNET_IMAGE } from '../../../src/lab/image.js';

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: any };

const deployDir = new URL('../../../deploy/', import.meta.url);
const files = readdirSync(deployDir).filter((f) => /\.ya?ml$/.test(f)).sort();
const documents = files.flatMap((file) =>
  parseAllDocuments(readFileSync(new URL(file, deployDir), 'utf8')).map((d, i) => ({ file, index: i, doc: d.toJS() as Doc })),
);

/** The schema of each kind deploy/ may hold; anything else is a mistake (or needs a line here). */
const models: Record<string, { validate(doc: Doc): void }> = {
  'apiextensions.k8s.io/v1 CustomResourceDefinition': { validate: (d) => new CustomResourceDefinition(d as never).validate() },
  'apps/v1 DaemonSet': { validate: (d) => new DaemonSet(d as never).validate() },
  'rbac.authorization.k8s.io/v1 ClusterRole': { validate: (d) => new ClusterRole(d as never).validate() },
  'rbac.authorization.k8s.io/v1 ClusterRoleBinding': { validate: (d) => new ClusterRoleBinding(d as never).validate() },
  'v1 ServiceAccount': { validate: (d) => new ServiceAccount(d as never).validate() },
};

function validate(doc: Doc): void {
  const model = models[`${doc.apiVersion} ${doc.kind}`];
  if (!model) throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
  model.validate(doc);
}

const find = (kind: string, name: string): Doc => {
  const found = documents.find((d) => d.doc.kind === kind && d.doc.metadata.name === name);
  assert.ok(found, `deploy/ has no ${kind} ${name}`);
  return found.doc;
};

test('every document in deploy/ is valid against the Kubernetes schemas', () => {
  assert.ok(documents.length >= 6, `${documents.length} documents in ${files.join(', ')}`);
  for (const { file, index, doc } of documents) assert.doesNotThrow(() => validate(doc), `${file} document ${index + 1} (${doc.kind} ${doc.metadata?.name})`);
  assert.deepEqual(
    documents.map((d) => `${d.doc.kind}/${d.doc.metadata.name}`).sort(),
    ['ClusterRole/aws-node', 'ClusterRole/podnet-sgp-controller', 'ClusterRoleBinding/aws-node', 'ClusterRoleBinding/podnet-sgp-controller',
      'CustomResourceDefinition/cninodes.vpcresources.k8s.aws', 'CustomResourceDefinition/eniconfigs.crd.k8s.amazonaws.com',
      'CustomResourceDefinition/securitygrouppolicies.vpcresources.k8s.aws', 'DaemonSet/aws-node', 'ServiceAccount/aws-node',
      'ServiceAccount/podnet-sgp-controller'],
  );
});

test('a broken copy is refused: a wrong type, a missing required field, a value outside an enum, an unknown kind', () => {
  const ds = find('DaemonSet', 'aws-node');
  const broken = (edit: (d: Doc) => void): Doc => {
    const copy = structuredClone(ds);
    edit(copy);
    return copy;
  };
  assert.throws(() => validate(broken((d) => { d.spec.template.spec.containers[0].ports[0].containerPort = '61678'; })), /containerPort must be integer/);
  assert.throws(() => validate(broken((d) => { delete d.spec.selector; })), /spec must have required property selector/);
  assert.throws(() => validate(broken((d) => { d.spec.template.spec.volumes[0].hostPath.type = 'Dir'; })), /hostPath\/type must be equal to one of the allowed values/);
  assert.throws(() => validate(broken((d) => { d.spec.template.spec.containers[0].env[0].value = 1; })), /value must be string/);
  assert.throws(() => validate({ ...ds, apiVersion: 'extensions/v1beta1' }), /no schema for extensions\/v1beta1 DaemonSet/);
});

test("the DaemonSet is upstream's aws-node in kube-system, running podnet's image with upstream's host paths", () => {
  const ds = find('DaemonSet', 'aws-node');
  assert.equal(ds.metadata.namespace, 'kube-system');
  assert.deepEqual(ds.spec.selector.matchLabels, { 'k8s-app': 'aws-node' });
  const pod = ds.spec.template.spec;
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.serviceAccountName, 'aws-node');
  const [init] = pod.initContainers;
  const [ipamd] = pod.containers;
  assert.equal(ipamd.name, 'aws-node');
  for (const c of [init, ipamd]) assert.equal(c.image, PODNET_IMAGE, c.name);
  assert.equal(init.securityContext.privileged, true);
  assert.deepEqual(ipamd.ports, [{ name: 'metrics', containerPort: 61678 }]);
  assert.ok(ipamd.readinessProbe && ipamd.livenessProbe);
  const hostPaths = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v.hostPath.path]));
  assert.deepEqual(hostPaths, {
    'host-root': '/', 'cni-bin-dir': '/opt/cni/bin', 'cni-net-dir': '/etc/cni/net.d', 'log-dir': '/var/log/aws-routed-eni', 'run-dir': '/var/run/aws-node', 'xtables-lock': '/run/xtables.lock',
  });
  const mounts = Object.fromEntries(ipamd.volumeMounts.map((m: any) => [m.mountPath, m.name]));
  assert.equal(mounts['/var/run/aws-node'], 'run-dir', "ipamd's socket and checkpoint stay where aws-node kept them");
});

test("the image's tag is package.json's version", () => {
  const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(PODNET_IMAGE, `localhost/podnet:${version}`);
});

test('each container runs `podnet <subcommand>` with options the CLI has (the lab runs them as processes)', () => {
  const program = buildProgram();
  const pod = find('DaemonSet', 'aws-node').spec.template.spec;
  for (const c of [...pod.initContainers, ...pod.containers]) {
    const argv: string[] = [...(c.command ?? []), ...(c.args ?? [])];
    assert.equal(argv[0], 'podnet', c.name);
    const sub: Command | undefined = program.commands.find((x) => x.name() === argv[1]);
    assert.ok(sub, `${c.name}: podnet has no command ${argv[1]}`);
    for (const flag of argv.slice(2).filter((a) => a.startsWith('--'))) {
      assert.ok(sub.options.some((o) => o.long === flag), `${c.name}: podnet ${argv[1]} has no option ${flag}`);
    }
  }
  assert.deepEqual(pod.containers[0].command, ['podnet', 'ipamd']);
});

test('the env is what `podnet config` accepts: no errors, no warnings, no unknown names; the node and pod come from the downward API', () => {
  const text = readFileSync(new URL('20-aws-node.yaml', deployDir), 'utf8');
  const parsed = parseEnvText(text, '20-aws-node.yaml');
  assert.equal(parsed.format, 'daemonset');
  assert.deepEqual(parsed.unresolved.map((u) => `${u.name} ${u.from}`), ['MY_NODE_NAME fieldRef spec.nodeName', 'MY_POD_NAME fieldRef metadata.name']);
  const loaded = loadConfig({ ...parsed.env, MY_NODE_NAME: 'ip-10-0-16-4.us-west-2.compute.internal', MY_POD_NAME: 'aws-node-abcde' });
  assert.deepEqual(loaded.problems, []);
  assert.deepEqual(loaded.unknown, []);
  const init = find('DaemonSet', 'aws-node').spec.template.spec.initContainers[0];
  const initEnv = Object.fromEntries(init.env.map((e: any) => [e.name, e.value]));
  assert.deepEqual(loadConfig(initEnv).problems, []);
  for (const [name, value] of Object.entries(initEnv)) {
    if (name in parsed.env) assert.equal(value, parsed.env[name], `${name}: the init container renders the conflist with ipamd's value`);
  }
});

test("the ClusterRole is bound to the pods' ServiceAccount and grants only what ipamd does through the API", () => {
  const sa = find('ServiceAccount', 'aws-node');
  const binding = find('ClusterRoleBinding', 'aws-node');
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'aws-node' });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
  const rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> = find('ClusterRole', 'aws-node').rules;
  const verbs = (group: string, resource: string) => rules.filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r) => r.verbs).sort();
  // what src/ipamd/kube.ts does through the API, and nothing more
  assert.deepEqual(verbs('', 'nodes'), ['list', 'watch']);
  assert.deepEqual(verbs('', 'pods'), ['get', 'patch']);
  assert.deepEqual(verbs('crd.k8s.amazonaws.com', 'eniconfigs'), ['list', 'watch']);
  assert.deepEqual(verbs('vpcresources.k8s.aws', 'cninodes'), ['create', 'get', 'patch']);
  assert.equal(rules.length, 4);
  assert.deepEqual(verbs('', 'secrets'), [], 'no secrets');
  for (const r of rules) assert.ok(!r.verbs.includes('*') && !r.resources.includes('*') && !r.verbs.includes('delete'), JSON.stringify(r));
});

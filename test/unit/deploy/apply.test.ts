/**
 * deploy/ applied to the lab's API server (in process, on loopback): with `kubectl apply -f deploy/` (a second apply
 * changes nothing stored), and object by object, after which the CRDs serve ENIConfig and CNINode and the aws-node
 * ServiceAccount's token gets what the ClusterRole grants and a 403 for what it does not.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { kubectlVersions } from '../../e2e/kubectl-harness.js';
import { raw, startTestServer, type TestServer } from '../k8s-api/client-node-harness.js';

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

const deployDir = new URL('../../../deploy/', import.meta.url);
const documents = readdirSync(deployDir).filter((f) => /\.ya?ml$/.test(f)).sort()
  .flatMap((file) => parseAllDocuments(readFileSync(new URL(file, deployDir), 'utf8')).map((d) => d.toJS() as Doc));

const plurals: Record<string, string> = {
  CustomResourceDefinition: 'customresourcedefinitions', ServiceAccount: 'serviceaccounts', ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings', DaemonSet: 'daemonsets',
};

/** The collection a document is created in. */
function collection(doc: Doc): string {
  const base = doc.apiVersion.includes('/') ? `/apis/${doc.apiVersion}` : `/api/${doc.apiVersion}`;
  const ns = doc.metadata.namespace ? `/namespaces/${doc.metadata.namespace}` : '';
  return `${base}${ns}/${plurals[doc.kind]}`;
}

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

const kubectl = kubectlVersions().found.at(-1);
test('kubectl apply -f deploy/ creates every object; applying again changes nothing stored', { skip: kubectl ? false : 'no kubectl found' }, async () => {
  const own = await startTestServer();
  try {
    // asynchronously: the server answers from this process's event loop
    const run = async (...args: string[]) => (await promisify(execFile)(kubectl!.path, ['--kubeconfig', own.kubeconfigPath, ...args, '-f', fileURLToPath(deployDir)])).stdout;
    const versions = async () => (JSON.parse(await run('get', '-o', 'json')) as { items: Array<{ metadata: { name: string; resourceVersion: string } }> })
      .items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`);
    const created = (await run('apply')).trim().split('\n');
    assert.equal(created.length, documents.length, created.join('\n'));
    for (const line of created) assert.match(line, / created$/);
    const before = await versions();
    await run('apply');
    assert.deepEqual(await versions(), before);
  } finally {
    await own.close();
  }
});

const post = (path: string, body: unknown, token?: string) => raw(server, path, { method: 'POST', body: JSON.stringify(body), ...(token !== undefined && { token }) });
const get = (path: string, token?: string) => raw(server, path, token !== undefined ? { token } : {});

test('every object of deploy/ is created; the aws-node token may list nodes and ENIConfigs, create CNINodes, not read secrets', async () => {
  for (const doc of documents) {
    const res = await post(collection(doc), doc);
    assert.equal(res.status, 201, `${doc.kind} ${doc.metadata.name}: ${res.text}`);
  }
  const ds = (await get('/apis/apps/v1/namespaces/kube-system/daemonsets/aws-node')).json;
  assert.deepEqual(ds.spec.template.spec.containers.map((c: { command: string[] }) => c.command), [['podnet', 'ipamd']]);

  const request = await post('/api/v1/namespaces/kube-system/serviceaccounts/aws-node/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} });
  assert.equal(request.status, 201, request.text);
  const token: string = request.json.status.token;
  assert.equal((await get('/api/v1/nodes', token)).status, 200);
  assert.equal((await get('/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs', token)).status, 200);
  const cninode = { apiVersion: 'vpcresources.k8s.aws/v1alpha1', kind: 'CNINode', metadata: { name: 'ip-10-0-16-4.us-west-2.compute.internal' }, spec: { features: [{ name: 'SecurityGroupsForPods' }] } };
  assert.equal((await post('/apis/vpcresources.k8s.aws/v1alpha1/cninodes', cninode, token)).status, 201);
  const secrets = await get('/api/v1/namespaces/kube-system/secrets', token);
  assert.equal(secrets.status, 403);
  assert.match(secrets.json.message, /system:serviceaccount:kube-system:aws-node.* cannot list resource "secrets"/);
  const eni = { apiVersion: 'crd.k8s.amazonaws.com/v1alpha1', kind: 'ENIConfig', metadata: { name: 'us-west-2a' }, spec: { subnet: 'subnet-1' } };
  assert.equal((await post('/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs', eni, token)).status, 403, 'ENIConfigs are read only');
});

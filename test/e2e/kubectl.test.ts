// The full kubectl suite, run by Debian's kubectl 1.20 and by the newest kubectl on the machine, each against its
// own API server in this process (both at once): discovery, namespaces, the aws-node DaemonSet and the seeds'
// `set env`, client-side apply (created / configured / unchanged, 3-way removal), pods with labels, annotations,
// selectors and the three patch types, Tables, get -w and delete, CRDs (ENIConfig, CNINode) applied and listed,
// validation errors as kubectl prints them, and RBAC seen through a service account's kubeconfig.
import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { awsNodeDaemonSet, kubectlVersions, manifest, podManifest, rows, startCluster, type Cluster, type Kubectl } from './kubectl-harness.js';
import { applyDaemonSet, patchDaemonSet, seedsSetEnv, watchAndDelete } from './kubectl-steps.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/k8s/${name}`, import.meta.url));
const deployed = (name: string): string => fileURLToPath(new URL(`../../deploy/${name}`, import.meta.url));
const { found, missing120 } = kubectlVersions();
const minor = (k: Kubectl): number => Number(k.version.split('.')[1]);
const newest = found.at(-1);
const runs: Array<{ name: string; k?: Kubectl; skip?: string }> = [
  found[0]?.version === '1.20' ? { name: 'kubectl 1.20', k: found[0] } : { name: 'kubectl 1.20', skip: missing120 ?? 'kubectl 1.20 not found' },
  newest && newest.version !== '1.20' ? { name: `kubectl ${newest.version} (newest)`, k: newest } : { name: 'newest kubectl', skip: 'no kubectl newer than 1.20 on this machine' },
];

describe('kubectl', { concurrency: true }, () => {
  for (const r of runs) {
    if (!r.k) {
      test(r.name, { skip: r.skip }, () => undefined);
      continue;
    }
    const k = r.k;
    describe(r.name, { concurrency: false }, () => {
      let c: Cluster;
      before(async () => {
        c = await startCluster(k);
      });
      after(async () => {
        await c?.stop();
      });

      test('version and discovery: groups, short names, categories', async () => {
        const version = JSON.parse(await c.ok(['version', '-o', 'json']));
        assert.equal(version.serverVersion.gitVersion, 'v1.30.0-podnet');
        const groups = (await c.ok(['api-versions'])).trim().split('\n');
        for (const gv of ['v1', 'apps/v1', 'rbac.authorization.k8s.io/v1', 'coordination.k8s.io/v1', 'apiextensions.k8s.io/v1']) assert.ok(groups.includes(gv), `${gv} in ${groups.join(' ')}`);
        const resources = rows(await c.ok(['api-resources']));
        const ds = resources.find((row) => row[0] === 'daemonsets');
        assert.deepEqual(ds, ['daemonsets', 'ds', 'apps/v1', 'true', 'DaemonSet']);
        assert.deepEqual(resources.find((row) => row[0] === 'nodes'), ['nodes', 'no', 'v1', 'false', 'Node']);
      });

      test('namespaces: create, get as a table, label', async () => {
        assert.match(await c.ok(['create', 'namespace', 'demo']), /^namespace\/demo created$/m);
        const table = rows(await c.ok(['get', 'namespace', 'demo']));
        assert.deepEqual(table[0], ['NAME', 'STATUS', 'AGE']);
        assert.deepEqual(table[1]?.slice(0, 2), ['demo', 'Active']);
        assert.match(await c.ok(['label', 'ns', 'demo', 'team=net']), /^namespace\/demo labeled$/m);
        assert.equal((await c.ok(['get', 'ns', '-l', 'team=net', '-o', 'name'])).trim(), 'namespace/demo');
        const dup = await c.kubectl(['create', 'namespace', 'demo']);
        assert.match(dup.stderr, /AlreadyExists.*namespaces "demo" already exists/);
      });

      test('the aws-node DaemonSet: apply, get', () => applyDaemonSet(c));
      test("the seeds' set env daemonset -n kube-system aws-node AWS_VPC_K8S_CNI_EXTERNALSNAT=true, and --list", () => seedsSetEnv(c));
      test('strategic merge patch of the pod template keeps the env', () => patchDaemonSet(c));

      test('client-side apply: configured on change; a field dropped from the manifest is removed (3-way)', async () => {
        const changed = awsNodeDaemonSet.replace('value: DEBUG', 'value: INFO').replace(/ {12}- name: WARM_ENI_TARGET\n {14}value: "1"\n/, '');
        assert.match(await c.ok(['apply', '-f', manifest(c, 'aws-node-2.yaml', changed)]), /^daemonset\.apps\/aws-node configured$/m);
        const env = JSON.parse(await c.ok(['get', 'ds', 'aws-node', '-n', 'kube-system', '-o', 'jsonpath={.spec.template.spec.containers[0].env}']));
        // the manifest's env wins; what set env added (not in last-applied) stays, as on a real cluster
        assert.deepEqual(env, [
          { name: 'AWS_VPC_K8S_CNI_LOGLEVEL', value: 'INFO' },
          { name: 'AWS_VPC_K8S_CNI_EXTERNALSNAT', value: 'true' },
        ]);
        const lastApplied = JSON.parse(await c.ok(['get', 'ds', 'aws-node', '-n', 'kube-system', '-o', 'jsonpath={.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}']));
        assert.equal(lastApplied.spec.template.spec.containers[0].env.length, 1);
      });

      test('pods: apply, table and wide columns, labels, annotations, selectors', async () => {
        assert.match(await c.ok(['apply', '-f', manifest(c, 'p1.yaml', podManifest('p1', 'demo', { app: 'web', tier: 'front' }))]), /^pod\/p1 created$/m);
        await c.ok(['apply', '-f', manifest(c, 'p2.yaml', podManifest('p2', 'demo', { app: 'db' }))]);
        const table = rows(await c.ok(['get', 'pods', '-n', 'demo']));
        assert.deepEqual(table[0], ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
        assert.deepEqual(table[1]?.slice(0, 4), ['p1', '0/1', 'Pending', '0']);
        const wide = rows(await c.ok(['get', 'pods', '-n', 'demo', '-o', 'wide']));
        assert.deepEqual(wide[0]?.slice(0, 7), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE']);
        assert.match(await c.ok(['label', 'pod', 'p1', '-n', 'demo', 'color=blue']), /^pod\/p1 labeled$/m);
        await c.ok(['annotate', 'pod', 'p1', '-n', 'demo', 'note=hello']);
        assert.equal(await c.ok(['get', 'pod', 'p1', '-n', 'demo', '-o', 'jsonpath={.metadata.annotations.note}']), 'hello');
        assert.equal((await c.ok(['get', 'pods', '-n', 'demo', '-l', 'app in (web,api),color', '-o', 'name'])).trim(), 'pod/p1');
        assert.equal((await c.ok(['get', 'pods', '-n', 'demo', '-l', 'app!=web', '-o', 'name'])).trim(), 'pod/p2');
        assert.equal((await c.ok(['get', 'pods', '-A', '--field-selector', 'metadata.name=p2', '-o', 'name'])).trim(), 'pod/p2');
        const shown = rows(await c.ok(['get', 'pods', '-n', 'demo', '--show-labels']));
        assert.match(shown[1]?.at(-1) ?? '', /app=web,color=blue,tier=front/);
        assert.match(await c.ok(['label', 'pod', 'p1', '-n', 'demo', 'color-']), /^pod\/p1 (un)?labeled$/m);
        assert.equal(await c.ok(['get', 'pod', 'p1', '-n', 'demo', '-o', 'jsonpath={.metadata.labels.color}']), '');
        const all = await c.ok(['get', 'all', '-n', 'kube-system', '-o', 'name']);
        assert.match(all, /^daemonset\.apps\/aws-node$/m);
      });

      test('patches: strategic (default), merge and JSON patch, as kubectl sends them', async () => {
        assert.match(await c.ok(['patch', 'pod', 'p1', '-n', 'demo', '-p', '{"metadata":{"labels":{"patched":"strategic"}}}']), /^pod\/p1 patched$/m);
        await c.ok(['patch', 'pod', 'p1', '-n', 'demo', '--type=merge', '-p', '{"metadata":{"annotations":{"merge":"yes"}}}']);
        await c.ok(['patch', 'pod', 'p1', '-n', 'demo', '--type=json', '-p', '[{"op":"replace","path":"/spec/containers/0/image","value":"busybox:1.37"}]']);
        const pod = JSON.parse(await c.ok(['get', 'pod', 'p1', '-n', 'demo', '-o', 'json']));
        assert.equal(pod.metadata.labels.patched, 'strategic');
        assert.equal(pod.metadata.annotations.merge, 'yes');
        assert.equal(pod.spec.containers[0].image, 'busybox:1.37');
        const failing = await c.kubectl(['patch', 'pod', 'p1', '-n', 'demo', '--type=json', '-p', '[{"op":"test","path":"/spec/containers/0/image","value":"nope"}]']);
        assert.notEqual(failing.code, 0);
        const immutable = await c.kubectl(['patch', 'pod', 'p1', '-n', 'demo', '--type=merge', '-p', '{"spec":{"restartPolicy":"Never"}}']);
        assert.match(immutable.stderr, /The Pod "p1" is invalid: spec: Forbidden: pod updates may not change fields other than/);
      });

      test('validation and missing objects, in kubectl words', async () => {
        const bad = podManifest('bad', 'demo').replace('      image: busybox:1.36\n', '');
        const created = await c.kubectl(['apply', '-f', manifest(c, 'bad.yaml', bad)]);
        assert.notEqual(created.code, 0);
        assert.match(created.stderr, /The Pod "bad" is invalid: spec\.containers\[0\]\.image: Required value/);
        const missing = await c.kubectl(['get', 'pod', 'nope', '-n', 'demo']);
        assert.match(missing.stderr, /Error from server \(NotFound\): pods "nope" not found/);
        const noNamespace = await c.kubectl(['create', 'configmap', 'x', '-n', 'absent', '--from-literal=a=1']);
        assert.match(noNamespace.stderr, /namespaces "absent" not found/);
      });

      test('configmaps: create from literals, replace, get -o yaml', async () => {
        assert.match(await c.ok(['create', 'configmap', 'settings', '-n', 'demo', '--from-literal=mode=a']), /^configmap\/settings created$/m);
        const cm = parse(await c.ok(['get', 'configmap', 'settings', '-n', 'demo', '-o', 'yaml']));
        cm.data.mode = 'b';
        const path = join(c.dir, 'cm.yaml');
        writeFileSync(path, stringify(cm));
        assert.match(await c.ok(['replace', '-f', path]), /^configmap\/settings replaced$/m);
        const stale = await c.kubectl(['replace', '-f', path]);
        assert.match(stale.stderr, /Operation cannot be fulfilled on configmaps "settings": the object has been modified/);
        assert.equal(await c.ok(['get', 'cm', 'settings', '-n', 'demo', '-o', 'jsonpath={.data.mode}']), 'b');
      });

      test('get -w and delete', () => watchAndDelete(c, 'demo'));

      test('CRDs: ENIConfig and CNINode applied, established, their objects applied, listed and validated', async () => {
        const created = await c.ok(['apply', '-f', deployed('00-eniconfig-crd.yaml'), '-f', deployed('00-cninode-crd.yaml')]);
        assert.match(created, /^customresourcedefinition\.apiextensions\.k8s\.io\/eniconfigs\.crd\.k8s\.amazonaws\.com created$/m);
        assert.match(created, /^customresourcedefinition\.apiextensions\.k8s\.io\/cninodes\.vpcresources\.k8s\.aws created$/m);
        await c.ok(['wait', '--for=condition=Established', '--timeout=15s', 'crd/eniconfigs.crd.k8s.amazonaws.com', 'crd/cninodes.vpcresources.k8s.aws']);
        const eni = fixture('eniconfig-us-west-2a.yaml');
        assert.match(await c.ok(['apply', '-f', eni]), /^eniconfig\.crd\.k8s\.amazonaws\.com\/us-west-2a created$/m);
        assert.match(await c.ok(['apply', '-f', eni]), /^eniconfig\.crd\.k8s\.amazonaws\.com\/us-west-2a unchanged$/m);
        // a CRD's object is applied with a JSON merge patch (kubectl has no strategic merge for CRDs)
        const moved = readFileSync(eni, 'utf8').replace('subnet-0a1b2c3d4e5f60001', 'subnet-0e0e0e0e0e0e0e0e0');
        assert.match(await c.ok(['apply', '-f', manifest(c, 'eni2.yaml', moved)]), /^eniconfig\.crd\.k8s\.amazonaws\.com\/us-west-2a configured$/m);
        const table = rows(await c.ok(['get', 'eniconfigs']));
        assert.deepEqual(table[0], ['NAME', 'AGE']);
        assert.equal(table[1]?.[0], 'us-west-2a');
        assert.equal(await c.ok(['get', 'eniconfig', 'us-west-2a', '-o', 'jsonpath={.spec.subnet}']), 'subnet-0e0e0e0e0e0e0e0e0');
        const noSubnet = await c.kubectl(['apply', '-f', manifest(c, 'eni-bad.yaml', moved.replace(/^ {2}subnet: .*\n/m, '').replace('us-west-2a', 'us-west-2b'))]);
        assert.notEqual(noSubnet.code, 0);
        assert.match(noSubnet.stderr, /ENIConfig.* "us-west-2b" is invalid: spec\.subnet: Required value/);
        // a field the schema does not declare: 1.27+ ask fieldValidation=Strict (400); 1.20 asks nothing, so the
        // server's default (Warn) prunes it and says so in a Warning header that kubectl prints
        const bogus = manifest(c, 'eni-bogus.yaml', moved.replace('us-west-2a', 'us-west-2c').replace(/^( {2}subnet: .*)$/m, '$1\n  bogus: 1'));
        const unknownField = await c.kubectl(['apply', '-f', bogus]);
        if (minor(k) >= 27) {
          assert.notEqual(unknownField.code, 0);
          assert.match(unknownField.stderr, /ENIConfig in version "v1alpha1" cannot be handled as a ENIConfig: strict decoding error: unknown field "spec\.bogus"/);
        } else {
          assert.equal(unknownField.code, 0, unknownField.stderr);
          assert.match(unknownField.stderr, /Warning: unknown field "spec\.bogus"/);
          assert.equal(await c.ok(['get', 'eniconfig', 'us-west-2c', '-o', 'jsonpath={.spec.bogus}']), '');
        }
        // kubectl diff: 1.27+ send the patch with dryRun=All (nothing changes); 1.20 looks for dry-run support in
        // the OpenAPI document's paths, which the server does not publish
        const diff = await c.kubectl(['diff', '-f', manifest(c, 'eni3.yaml', moved.replace('subnet-0e0e0e0e0e0e0e0e0', 'subnet-0d0d0d0d0d0d0d0d0'))]);
        if (minor(k) >= 27) {
          assert.equal(diff.code, 1, diff.stderr);
          assert.match(diff.stdout, /^\+ {2}subnet: subnet-0d0d0d0d0d0d0d0d0$/m);
        } else assert.match(diff.stderr, /ENIConfig doesn't support dry-run/);
        assert.equal(await c.ok(['get', 'eniconfig', 'us-west-2a', '-o', 'jsonpath={.spec.subnet}']), 'subnet-0e0e0e0e0e0e0e0e0');

        assert.match(await c.ok(['apply', '-f', fixture('cninode-node-a.yaml')]), /^cninode\.vpcresources\.k8s\.aws\/node-a created$/m);
        assert.equal((await c.ok(['get', 'cnd', '-o', 'name'])).trim(), 'cninode.vpcresources.k8s.aws/node-a');
        const cnd = rows(await c.ok(['get', 'cninodes']));
        assert.deepEqual(cnd[0], ['NAME', 'FEATURES']);
        assert.match(cnd[1]?.[1] ?? '', /SecurityGroupsForPods/);
        const managedBy = await c.kubectl(['patch', 'cnd', 'node-a', '--type=merge', '-p', '{"spec":{"managedBy":"someone-else"}}']);
        assert.match(managedBy.stderr, /spec\.managedBy: Unsupported value: "someone-else": supported values: "vpc-resource-controller", "eks-auto-mode"/);
        const strategic = await c.kubectl(['patch', 'cnd', 'node-a', '-p', '{"spec":{"tags":{"a":"b"}}}']);
        assert.notEqual(strategic.code, 0, 'strategic merge patch is refused for custom resources');
        assert.match(await c.ok(['delete', 'eniconfig', 'us-west-2a']), /eniconfig\.crd\.k8s\.amazonaws\.com "us-west-2a" deleted/);
      });

      test("RBAC: a service account's kubeconfig can do what its Role grants, and gets Kubernetes' 403 otherwise", async () => {
        await c.ok(['create', 'serviceaccount', 'reader', '-n', 'demo']);
        await c.ok(['create', 'role', 'pod-reader', '-n', 'demo', '--verb=get,list,watch', '--resource=pods']);
        await c.ok(['create', 'rolebinding', 'reader-pods', '-n', 'demo', '--role=pod-reader', '--serviceaccount=demo:reader']);
        const secret = `apiVersion: v1
kind: Secret
metadata:
  name: reader-token
  namespace: demo
  annotations:
    kubernetes.io/service-account.name: reader
type: kubernetes.io/service-account-token
`;
        await c.ok(['apply', '-f', manifest(c, 'reader-token.yaml', secret)]);
        const token = Buffer.from(await c.ok(['get', 'secret', 'reader-token', '-n', 'demo', '-o', 'jsonpath={.data.token}']), 'base64').toString();
        assert.ok(token.length > 0, 'the token controller filled data.token');
        const kc = parse(await c.ok(['config', 'view', '--raw']));
        kc.users = [{ name: 'reader', user: { token } }];
        kc.contexts = [{ name: 'reader', context: { cluster: kc.clusters[0].name, user: 'reader', namespace: 'demo' } }];
        kc['current-context'] = 'reader';
        const kubeconfig = join(c.dir, 'reader.kubeconfig');
        writeFileSync(kubeconfig, stringify(kc));
        assert.match(await c.ok(['get', 'pods', '-o', 'name'], { kubeconfig }), /^pod\/p1$/m);
        const forbidden = await c.kubectl(['get', 'nodes'], { kubeconfig });
        assert.match(forbidden.stderr, /Error from server \(Forbidden\): nodes is forbidden: User "system:serviceaccount:demo:reader" cannot list resource "nodes" in API group "" at the cluster scope/);
        const del = await c.kubectl(['delete', 'pod', 'p2'], { kubeconfig });
        assert.match(del.stderr, /pods "p2" is forbidden: User "system:serviceaccount:demo:reader" cannot delete resource "pods" in API group "" in the namespace "demo"/);
        assert.equal((await c.kubectl(['auth', 'can-i', 'list', 'pods'], { kubeconfig })).stdout.trim(), 'yes');
        assert.equal((await c.kubectl(['auth', 'can-i', 'delete', 'pods'], { kubeconfig })).stdout.trim(), 'no');
        assert.match(await c.ok(['auth', 'can-i', '--list'], { kubeconfig }), /^pods\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
      });

      test('deleting a namespace removes what is in it, and kubectl waits for it', async () => {
        assert.match(await c.ok(['delete', 'namespace', 'demo']), /namespace "demo" deleted/);
        const gone = await c.kubectl(['get', 'namespace', 'demo']);
        assert.match(gone.stderr, /namespaces "demo" not found/);
        assert.match((await c.kubectl(['get', 'pods', '-n', 'demo'])).stderr, /No resources found in demo namespace/);
      });
    });
  }
});

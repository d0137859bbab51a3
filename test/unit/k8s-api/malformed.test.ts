/**
 * The malformed-request corpus (issue 15, in the style of issue 10's hostile input): each bad request is answered
 * with a Kubernetes `Status` (kind Status, apiVersion v1, status Failure, the HTTP code repeated in `code`, the
 * reason Kubernetes gives) — never a crash, a hang or a 500 — and the server answers a good request right after.
 * Codes are Kubernetes': 400 for what cannot be decoded or does not belong at the URL, 401 for who is unknown, 403
 * for what RBAC denies, 404 for what does not exist, 405 for a verb the path does not take, 409 for conflicts, 410
 * for an expired version, 413 for a body over the bound, 415 for content types not served, 422 for what fails
 * validation (with `details.causes` naming the field), 429 for a watch over the bound, 431 for headers over the
 * parser's bound.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { after, before, test } from 'node:test';
import { raw, startTestServer, type RawRequest, type RawResponse, type TestServer } from './client-node-harness.js';

const watchHistory = 10;
const maxWatches = 3;
/** Shorter than the server's defaults (5 s, 10 s), so a stalled sender's cut-off is seen within the test's seconds. */
const headersTimeoutMs = 1000;
const requestTimeoutMs = 2000;
let server: TestServer;
const cms = '/api/v1/namespaces/default/configmaps';

before(async () => {
  server = await startTestServer({ watchHistory, maxWatches, headersTimeoutMs, requestTimeoutMs });
  const made = await raw(server, cms, { method: 'POST', body: JSON.stringify(configMap('existing')) });
  assert.equal(made.status, 201, made.text);
});
after(() => server.close());

function configMap(name: string, extra: Record<string, unknown> = {}) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v' }, ...extra };
}

/** Asserts res is a Kubernetes Status refusal with this code (and reason), and that the server still answers. */
async function assertStatus(res: RawResponse, code: number, reason?: string | RegExp): Promise<Record<string, any>> {
  assert.equal(res.status, code, `HTTP ${res.status}: ${res.text.slice(0, 400)}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const s = res.json;
  assert.equal(s?.kind, 'Status', res.text.slice(0, 400));
  assert.equal(s.apiVersion, 'v1');
  assert.equal(s.status, 'Failure');
  assert.equal(s.code, code);
  assert.equal(typeof s.message, 'string');
  if (reason !== undefined) assert.match(s.reason, typeof reason === 'string' ? new RegExp(`^${reason}$`) : reason);
  await assertAlive();
  return s;
}

async function assertAlive(): Promise<void> {
  const ok = await raw(server, '/api/v1/namespaces/default');
  assert.equal(ok.status, 200, `the server stopped answering: ${ok.status} ${ok.text.slice(0, 200)}`);
}

const post = (body: string | Buffer, headers: Record<string, string> = {}): RawRequest => ({ method: 'POST', body, headers });
const patch = (contentType: string, body: string): RawRequest => ({ method: 'PATCH', body, headers: { 'content-type': contentType } });

interface Case {
  name: string;
  path: string;
  req?: RawRequest;
  code: number;
  reason?: string | RegExp;
  /** Further checks of the Status. */
  then?: (status: Record<string, any>) => void;
}

const causeFields = (s: Record<string, any>) => (s.details?.causes ?? []).map((c: { field: string }) => c.field);
const deep = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

/** Kubernetes' protobuf envelope (`k8s\0`, then runtime.Unknown { typeMeta { apiVersion, kind }, raw }) around an empty object. */
function protobufEnvelope(apiVersion: string, kind: string): Buffer {
  const field = (n: number, bytes: Buffer) => Buffer.concat([Buffer.from([(n << 3) | 2, bytes.length]), bytes]);
  const typeMeta = Buffer.concat([field(1, Buffer.from(apiVersion)), field(2, Buffer.from(kind))]);
  return Buffer.concat([Buffer.from('k8s\x00', 'latin1'), field(1, typeMeta), field(2, Buffer.alloc(0))]);
}

/** YAML whose aliases expand to 10^9 strings in 1 KB: the expansion must be refused, not attempted. */
function aliasBomb(): string {
  let doc = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\nl0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  for (let i = 1; i <= 9; i++) doc += `l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(',')}]\n`;
  return doc;
}

const corpus: Case[] = [
  // 400: cannot be decoded, or does not belong at this URL
  { name: 'a body that is not JSON', path: cms, req: post('{"metadata": {"name": "x"'), code: 400, reason: 'BadRequest' },
  { name: 'a JSON body that is not an object', path: cms, req: post('[1, 2, 3]'), code: 400, reason: 'BadRequest' },
  { name: 'an empty body on create', path: cms, req: post(''), code: 400, reason: 'BadRequest' },
  { name: 'a Pod posted to the configmaps URL', path: cms, req: post(JSON.stringify({ ...configMap('p'), kind: 'Pod' })), code: 400, reason: 'BadRequest' },
  { name: 'apiVersion apps/v1 posted to /api/v1', path: cms, req: post(JSON.stringify({ ...configMap('p'), apiVersion: 'apps/v1' })), code: 400, reason: 'BadRequest' },
  {
    name: 'a body whose namespace is not the URL namespace',
    path: cms,
    req: post(JSON.stringify({ ...configMap('p'), metadata: { name: 'p', namespace: 'kube-system' } })),
    code: 400,
    reason: 'BadRequest',
  },
  {
    name: 'an update whose name is not the URL name',
    path: `${cms}/existing`,
    req: { method: 'PUT', body: JSON.stringify(configMap('other')) },
    code: 400,
    reason: 'BadRequest',
  },
  { name: 'JSON nested 20,000 deep (Go decoders stop at 10,000)', path: cms, req: post(JSON.stringify(configMap('deep')).replace(/}$/, `,"extra":${deep(20_000)}}`)), code: 400, reason: 'BadRequest' },
  { name: 'a protobuf body cut short', path: cms, req: post(Buffer.from('k8s\x00\x0a\x0f', 'latin1'), { 'content-type': 'application/vnd.kubernetes.protobuf' }), code: 400, reason: 'BadRequest' },
  { name: 'a YAML body that does not parse', path: cms, req: post('metadata: [name: x', { 'content-type': 'application/yaml' }), code: 400, reason: 'BadRequest' },
  { name: 'a YAML alias bomb (a billion laughs)', path: cms, req: post(aliasBomb(), { 'content-type': 'application/yaml' }), code: 400, reason: 'BadRequest' },
  { name: 'a body that is not UTF-8', path: cms, req: post(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), code: 400, reason: 'BadRequest' },
  { name: 'metadata that is not an object', path: cms, req: post(JSON.stringify({ ...configMap('m'), metadata: 'm' })), code: 400, reason: 'BadRequest' },
  { name: 'a delete whose body is not JSON', path: `${cms}/existing`, req: { method: 'DELETE', body: '{' }, code: 400, reason: 'BadRequest' },
  { name: 'a continue token that was never issued', path: `${cms}?limit=1&continue=garbage`, code: 400, reason: 'BadRequest' },
  { name: 'a limit that is not a number', path: `${cms}?limit=abc`, code: 400, reason: 'BadRequest' },
  { name: 'an unknown dryRun value (nothing is written)', path: `${cms}?dryRun=Maybe`, req: post(JSON.stringify(configMap('dry'))), code: 400, reason: 'BadRequest' },
  { name: 'an unknown fieldValidation', path: `${cms}?fieldValidation=Loose`, req: post(JSON.stringify(configMap('fv'))), code: 400, reason: 'BadRequest' },
  { name: 'a label selector that does not parse', path: `${cms}?labelSelector=${encodeURIComponent('app in (a')}`, code: 400, reason: 'BadRequest' },
  { name: 'a label selector with a bad key', path: `${cms}?labelSelector=${encodeURIComponent('-bad-=x')}`, code: 400, reason: 'BadRequest' },
  { name: 'a field selector on an unsupported field', path: `${cms}?fieldSelector=${encodeURIComponent('spec.nodeName=n1')}`, code: 400, reason: 'BadRequest' },
  { name: 'a field selector without an operator', path: `${cms}?fieldSelector=metadata.name`, code: 400, reason: 'BadRequest' },
  { name: 'a resourceVersion that is not a number (list)', path: `${cms}?resourceVersion=abc`, code: 400, reason: 'BadRequest' },
  { name: 'a negative resourceVersion (list)', path: `${cms}?resourceVersion=-1`, code: 400, reason: 'BadRequest' },
  { name: 'a resourceVersion that is not a number (watch)', path: `${cms}?watch=true&resourceVersion=abc`, code: 400, reason: 'BadRequest' },
  { name: 'timeoutSeconds that is not a number', path: `${cms}?watch=true&timeoutSeconds=soon`, code: 400, reason: 'BadRequest' },
  { name: 'a merge patch that is not JSON', path: `${cms}/existing`, req: patch('application/merge-patch+json', '{"data":'), code: 400, reason: 'BadRequest' },
  { name: 'a JSON patch that is not a list of operations', path: `${cms}/existing`, req: patch('application/json-patch+json', '{"op":"add"}'), code: 400, reason: 'BadRequest' },
  { name: 'a strategic merge patch that is a list', path: `${cms}/existing`, req: patch('application/strategic-merge-patch+json', '[]'), code: 400, reason: 'BadRequest' },

  // 401: nobody we know
  { name: 'no bearer token', path: cms, req: { token: null }, code: 401, reason: 'Unauthorized' },
  { name: 'an unknown bearer token', path: cms, req: { token: 'eyJhbGciOi.not.atoken' }, code: 401, reason: 'Unauthorized' },
  { name: 'Basic authentication', path: cms, req: { token: null, headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } }, code: 401, reason: 'Unauthorized' },
  { name: 'an empty bearer token', path: cms, req: { token: null, headers: { authorization: 'Bearer ' } }, code: 401, reason: 'Unauthorized' },

  // 431: headers over the parser's bound, answered before the request reaches the API
  { name: 'a 100 kB header', path: cms, req: { headers: { 'x-filler': 'a'.repeat(100_000) } }, code: 431 },

  // 404: nothing there
  { name: 'an unknown resource in the core group', path: '/api/v1/namespaces/default/foos', code: 404, reason: 'NotFound' },
  { name: 'an unknown group', path: '/apis/nope.example.com/v1/things', code: 404, reason: 'NotFound' },
  { name: 'an unknown version of a known group', path: '/apis/apps/v9/daemonsets', code: 404, reason: 'NotFound' },
  { name: 'a path outside the API', path: '/wp-admin/setup.php', code: 404, reason: 'NotFound' },
  { name: 'an object that does not exist', path: `${cms}/missing`, code: 404, reason: 'NotFound', then: (s) => assert.equal(s.details?.name, 'missing') },
  { name: 'an unknown subresource', path: `${cms}/existing/exec`, code: 404, reason: 'NotFound' },
  { name: 'a cluster-scoped resource under a namespace', path: '/api/v1/namespaces/default/nodes', code: 404, reason: 'NotFound' },
  { name: 'a status subresource the kind does not have', path: `${cms}/existing/status`, code: 404, reason: 'NotFound' },
  { name: 'a patch of an object that does not exist', path: `${cms}/missing`, req: patch('application/merge-patch+json', '{}'), code: 404, reason: 'NotFound' },
  { name: 'a create in a namespace that does not exist', path: '/api/v1/namespaces/nowhere/configmaps', req: post(JSON.stringify(configMap('x'))), code: 404, reason: 'NotFound' },

  // 405: a verb the path does not take
  { name: 'POST to a named object', path: `${cms}/existing`, req: post(JSON.stringify(configMap('existing'))), code: 405, reason: 'MethodNotAllowed' },
  { name: 'a create on the all-namespaces path', path: '/api/v1/configmaps', req: post(JSON.stringify(configMap('x'))), code: 405, reason: 'MethodNotAllowed' },
  { name: 'PUT to a collection', path: cms, req: { method: 'PUT', body: JSON.stringify(configMap('x')) }, code: 405, reason: 'MethodNotAllowed' },

  // 409: conflicts
  { name: 'a second create of the same name', path: cms, req: post(JSON.stringify(configMap('existing'))), code: 409, reason: 'AlreadyExists' },
  {
    name: 'an update with a stale resourceVersion',
    path: `${cms}/existing`,
    req: { method: 'PUT', body: JSON.stringify({ ...configMap('existing'), metadata: { name: 'existing', resourceVersion: '1' } }) },
    code: 409,
    reason: 'Conflict',
  },

  {
    name: 'a delete whose uid precondition does not match',
    path: `${cms}/existing`,
    req: { method: 'DELETE', body: JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: 'not-its-uid' } }) },
    code: 409,
    reason: 'Conflict',
  },

  // 413: over the bound (3 MiB)
  { name: 'a 4 MiB body', path: cms, req: post(JSON.stringify(configMap('big', { data: { k: 'x'.repeat(4 << 20) } }))), code: 413, reason: 'RequestEntityTooLarge' },

  // 415: content types not served
  { name: 'a create sent as text/plain', path: cms, req: post(JSON.stringify(configMap('t')), { 'content-type': 'text/plain' }), code: 415, reason: 'UnsupportedMediaType' },
  {
    name: 'a DaemonSet sent as protobuf (decoded only for the kinds kubectl creates that way)',
    path: '/apis/apps/v1/namespaces/default/daemonsets',
    req: post(protobufEnvelope('apps/v1', 'DaemonSet'), { 'content-type': 'application/vnd.kubernetes.protobuf' }),
    code: 415,
    reason: 'UnsupportedMediaType',
  },
  { name: 'a PATCH sent as plain application/json', path: `${cms}/existing`, req: patch('application/json', '{}'), code: 415, reason: 'UnsupportedMediaType' },
  { name: 'server-side apply', path: `${cms}/existing?fieldManager=me`, req: patch('application/apply-patch+yaml', 'data: {k: w}'), code: 415, reason: 'UnsupportedMediaType' },

  // 422: fails validation, with the field named
  {
    name: 'a name that is not DNS-1123',
    path: cms,
    req: post(JSON.stringify(configMap('Not_A_Name'))),
    code: 422,
    reason: 'Invalid',
    then: (s) => assert.ok(causeFields(s).includes('metadata.name'), JSON.stringify(s.details)),
  },
  {
    name: 'a label value over 63 characters',
    path: cms,
    req: post(JSON.stringify({ ...configMap('l'), metadata: { name: 'l', labels: { app: 'a'.repeat(64) } } })),
    code: 422,
    reason: 'Invalid',
    then: (s) => assert.ok(causeFields(s).some((f: string) => f.startsWith('metadata.labels')), JSON.stringify(s.details)),
  },
  {
    name: 'a Pod without containers',
    path: '/api/v1/namespaces/default/pods',
    req: post(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'empty' }, spec: { containers: [] } })),
    code: 422,
    reason: 'Invalid',
    then: (s) => assert.ok(causeFields(s).includes('spec.containers'), JSON.stringify(s.details)),
  },
  {
    name: 'a name that is not ASCII',
    path: cms,
    req: post(JSON.stringify(configMap('ünï'))),
    code: 422,
    reason: 'Invalid',
    then: (s) => assert.ok(causeFields(s).includes('metadata.name'), JSON.stringify(s.details)),
  },
  {
    name: 'a ConfigMap value that is a number',
    path: cms,
    req: post(JSON.stringify({ ...configMap('n'), data: { a: 1 } })),
    code: 422,
    reason: 'Invalid',
    then: (s) => assert.ok(causeFields(s).includes('data[a]'), JSON.stringify(s.details)),
  },
  { name: 'an unknown propagationPolicy', path: `${cms}/existing?propagationPolicy=Sometimes`, req: { method: 'DELETE' }, code: 422, reason: 'Invalid' },
  { name: 'labels that are a list', path: cms, req: post(JSON.stringify({ ...configMap('l'), metadata: { name: 'l', labels: ['a'] } })), code: 422, reason: 'Invalid' },
  { name: 'a create without a name', path: cms, req: post(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })), code: 422, reason: 'Invalid' },
  { name: 'a JSON patch whose test fails', path: `${cms}/existing`, req: patch('application/json-patch+json', '[{"op":"test","path":"/data/k","value":"no"}]'), code: 422 },
  { name: 'a JSON patch removing what is not there', path: `${cms}/existing`, req: patch('application/json-patch+json', '[{"op":"remove","path":"/data/nope"}]'), code: 422 },
];

for (const c of corpus) {
  test(`${c.code}: ${c.name}`, async () => {
    const started = performance.now();
    const s = await assertStatus(await raw(server, c.path, c.req), c.code, c.reason);
    c.then?.(s);
    assert.ok(performance.now() - started < 5000, `answered in ${Math.round(performance.now() - started)} ms`);
  });
}

test('403: a service account with no bindings is forbidden, in Kubernetes’ words', async () => {
  const sa = await raw(server, '/api/v1/namespaces/default/serviceaccounts', { method: 'POST', body: JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody' } }) });
  assert.equal(sa.status, 201, sa.text);
  const issued = await raw(server, '/api/v1/namespaces/default/serviceaccounts/nobody/token', {
    method: 'POST',
    body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }),
  });
  assert.equal(issued.status, 201, issued.text);
  const token = issued.json.status.token as string;
  const s = await assertStatus(await raw(server, `${cms}/existing`, { token }), 403, 'Forbidden');
  assert.equal(s.message, 'configmaps "existing" is forbidden: User "system:serviceaccount:default:nobody" cannot get resource "configmaps" in API group "" in the namespace "default"');
  await assertStatus(await raw(server, '/api/v1/nodes', { token }), 403, 'Forbidden');
});

test('410: a watch from a version older than the history gets an ERROR event with a 410 Status', async () => {
  const first = await raw(server, cms, { method: 'POST', body: JSON.stringify(configMap('gone-0')) });
  const old = first.json.metadata.resourceVersion as string;
  for (let i = 1; i <= watchHistory + 5; i++) await raw(server, cms, { method: 'POST', body: JSON.stringify(configMap(`gone-${i}`)) });
  const res = await raw(server, `${cms}?watch=true&resourceVersion=${old}&timeoutSeconds=2`);
  assert.equal(res.status, 200, res.text.slice(0, 300));
  const events = res.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(events[0]?.type, 'ERROR', res.text.slice(0, 300));
  assert.equal(events[0].object.kind, 'Status');
  assert.equal(events[0].object.code, 410);
  assert.match(events[0].object.reason, /^(Expired|Gone)$/);
  await assertAlive();
});

/** Opens a watch and resolves once its response status is known; close() ends it. */
function openWatch(path: string): Promise<{ status: number; body: string; close(): void }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, server.url);
    const r = request(url, { headers: { authorization: `Bearer ${server.adminToken}` }, ca: server.caPem, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('error', () => undefined);
      const close = () => r.destroy();
      if (res.statusCode === 200) resolve({ status: 200, body, close });
      else res.on('end', () => resolve({ status: res.statusCode ?? 0, body, close }));
    });
    r.on('error', (err) => (r.destroyed ? undefined : reject(err)));
    r.end();
  });
}

test('429: a watch over the bound of concurrent watches is refused, and is served again once one ends', async () => {
  const open = [];
  for (let i = 0; i < maxWatches; i++) {
    const w = await openWatch(`${cms}?watch=true`);
    assert.equal(w.status, 200);
    open.push(w);
  }
  try {
    const over = await openWatch(`${cms}?watch=true`);
    const s = JSON.parse(over.body);
    assert.equal(over.status, 429, over.body);
    assert.deepEqual([s.kind, s.code, s.reason], ['Status', 429, 'TooManyRequests']);
    await assertAlive();
  } finally {
    for (const w of open) w.close();
  }
  const deadline = Date.now() + 5000;
  let again = await openWatch(`${cms}?watch=true&timeoutSeconds=1`);
  while (again.status === 429 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    again = await openWatch(`${cms}?watch=true&timeoutSeconds=1`);
  }
  again.close();
  assert.equal(again.status, 200, 'a closed watch frees its place');
});

/** Opens a TLS connection, sends head and then a byte every 100 ms; resolves with what came back and when the server closed it. */
async function stall(head: string): Promise<{ answer: string; ms: number }> {
  const url = new URL(server.url);
  const socket = connect({ host: url.hostname, port: Number(url.port), ca: server.caPem, servername: 'localhost' });
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.once('secureConnect', () => r()));
  const started = performance.now();
  let answer = '';
  socket.on('data', (c: Buffer) => (answer += c.toString()));
  const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now() - started)));
  socket.write(head);
  const drip = setInterval(() => socket.writable && socket.write(head.includes('\r\n\r\n') ? ' ' : 'x'), 100);
  try {
    // meanwhile, other clients are answered at once
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await assertAlive();
      assert.ok(performance.now() - t < 2000, 'another client waited over 2 s');
    }
    const ms = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Infinity), requestTimeoutMs + 5000))]);
    return { answer, ms };
  } finally {
    clearInterval(drip);
    socket.destroy();
  }
}

test('408: a sender that stalls in its headers is cut off after the headers timeout', async () => {
  const host = new URL(server.url).host;
  const { answer, ms } = await stall(`GET ${cms} HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `);
  assert.ok(ms < headersTimeoutMs + 3000, `still open after ${Math.round(ms)} ms`);
  assert.match(answer, /^HTTP\/1\.1 408 /);
  await assertAlive();
});

test('408: a sender that dribbles its body is cut off after the request timeout', async () => {
  const host = new URL(server.url).host;
  const { answer, ms } = await stall(
    `POST ${cms} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${server.adminToken}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"apiVersion"`,
  );
  assert.ok(ms < requestTimeoutMs + 3000, `still open after ${Math.round(ms)} ms`);
  assert.ok(answer === '' || /^HTTP\/1\.1 408 /.test(answer), `answered: ${answer.slice(0, 200)}`);
  await assertAlive();
});

test('after the whole corpus, the server still serves reads and writes, and kept nothing it refused', async () => {
  assert.equal((await raw(server, `${cms}/dry`)).status, 404, 'the refused dry run wrote nothing');
  assert.equal((await raw(server, `${cms}/existing`)).status, 200, 'the refused deletes deleted nothing');
  const made = await raw(server, cms, { method: 'POST', body: JSON.stringify(configMap('after-corpus')) });
  assert.equal(made.status, 201, made.text);
  const list = await raw(server, cms);
  assert.equal(list.status, 200);
  assert.ok(list.json.items.some((o: { metadata: { name: string } }) => o.metadata.name === 'after-corpus'));
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { ApiError, type KubeObject } from '../../../src/k8s-api/index.js';
import { answerTokenRequest, createTokens, fillServiceAccountTokenSecret, tokenOfSecret } from '../../../src/k8s-api/tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-k8s-tokens-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const awsNode: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'aws-node', namespace: 'kube-system', uid: 'uid-1' } };

test('the admin token is kubernetes-admin in system:masters, and the same after reopening the database', () => {
  const path = join(dir, 'admin.db');
  const db = new Database(path);
  const token = createTokens(db).adminToken();
  assert.equal(createTokens(db).adminToken(), token);
  db.close();
  const reopened = new Database(path);
  const tokens = createTokens(reopened);
  assert.equal(tokens.adminToken(), token);
  assert.deepEqual(tokens.authenticate(token), { user: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] });
  assert.equal(tokens.authenticate(`${token}x`), undefined);
  assert.equal(tokens.authenticate(''), undefined);
  reopened.close();
});

test('a service account token names the account and its groups, and stops working when the account is forgotten', () => {
  const tokens = createTokens(new Database(':memory:'));
  const { token, expiration } = tokens.serviceAccountToken('kube-system', 'aws-node', 'uid-1');
  assert.equal(expiration, undefined);
  assert.deepEqual(tokens.authenticate(token), {
    user: 'system:serviceaccount:kube-system:aws-node',
    uid: 'uid-1',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
  });
  const other = tokens.serviceAccountToken('default', 'aws-node', 'uid-2').token;
  tokens.forgetServiceAccount('kube-system', 'aws-node');
  assert.equal(tokens.authenticate(token), undefined);
  assert.equal(tokens.authenticate(other)?.user, 'system:serviceaccount:default:aws-node');
});

test('a token with an expiration stops working once it has passed', () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const tokens = createTokens(new Database(':memory:'), { now: () => now });
  const issued = tokens.serviceAccountToken('kube-system', 'aws-node', 'uid-1', 600);
  assert.equal(issued.expiration, '2026-01-01T00:10:00Z');
  now += 599_000;
  assert.ok(tokens.authenticate(issued.token));
  now += 1000;
  assert.equal(tokens.authenticate(issued.token), undefined);
});

test('the token controller fills a service-account-token Secret with token, ca.crt and namespace; revoking its token ends it', () => {
  const tokens = createTokens(new Database(':memory:'));
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { name: 'aws-node-token', namespace: 'kube-system', annotations: { 'kubernetes.io/service-account.name': 'aws-node' } },
  };
  const filled = fillServiceAccountTokenSecret(secret, awsNode, tokens, 'CA PEM');
  assert.ok(filled);
  assert.equal(filled.metadata.annotations?.['kubernetes.io/service-account.uid'], 'uid-1');
  const data = filled['data'] as Record<string, string>;
  assert.equal(Buffer.from(data['ca.crt'] ?? '', 'base64').toString(), 'CA PEM');
  assert.equal(Buffer.from(data['namespace'] ?? '', 'base64').toString(), 'kube-system');
  const token = tokenOfSecret(filled) ?? '';
  assert.equal(tokens.authenticate(token)?.user, 'system:serviceaccount:kube-system:aws-node');
  assert.equal(fillServiceAccountTokenSecret(filled, awsNode, tokens, 'CA PEM'), undefined, 'already filled');
  assert.equal(fillServiceAccountTokenSecret({ ...secret, type: 'Opaque' }, awsNode, tokens, 'CA PEM'), undefined);
  assert.equal(fillServiceAccountTokenSecret(secret, undefined, tokens, 'CA PEM'), undefined, 'no such account');
  tokens.revokeToken(token);
  assert.equal(tokens.authenticate(token), undefined);
});

test('TokenRequest: defaults to an hour and the API server audience, and refuses less than 10 minutes as Kubernetes does', () => {
  const tokens = createTokens(new Database(':memory:'));
  const answer = answerTokenRequest({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }, awsNode, tokens);
  assert.equal(answer.kind, 'TokenRequest');
  const spec = answer['spec'] as Record<string, unknown>;
  assert.deepEqual(spec['audiences'], ['https://kubernetes.default.svc.cluster.local']);
  assert.equal(spec['expirationSeconds'], 3600);
  const status = answer['status'] as { token: string; expirationTimestamp: string };
  assert.equal(tokens.authenticate(status.token)?.user, 'system:serviceaccount:kube-system:aws-node');
  assert.match(status.expirationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.throws(
    () => answerTokenRequest({ spec: { expirationSeconds: 599 } }, awsNode, tokens),
    (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status.code, 422);
      assert.equal(error.status.message, 'TokenRequest.authentication.k8s.io "aws-node" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes');
      assert.deepEqual(error.status.details?.causes, [{ reason: 'FieldValueInvalid', message: 'Invalid value: 599: may not specify a duration less than 10 minutes', field: 'spec.expirationSeconds' }]);
      return true;
    },
  );
});

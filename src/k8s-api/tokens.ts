/**
 * Bearer tokens: the admin's (kept in the server's database, so a restart serves the same kubeconfig) and one per
 * service account (opaque random strings; only their SHA-256 is stored). Also what Kubernetes' token controller
 * writes into a `kubernetes.io/service-account-token` Secret, and the TokenRequest subresource
 * (authentication.k8s.io/v1) — pure functions the server calls.
 */
import { createHash, randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { isRecord } from './builtin/fields.js';
import { invalid, invalidError } from './field-errors.js';
import type { Cause, Identity, KubeObject } from './types.js';

export const ADMIN_USER = 'kubernetes-admin';

export interface IssuedToken {
  token: string;
  /** RFC 3339; undefined for tokens that never expire (the ones a token Secret holds). */
  expiration: string | undefined;
}

export interface Tokens {
  /** The admin's token (user kubernetes-admin, groups system:masters and system:authenticated), made once. */
  adminToken(): string;
  /** A new token for a service account; without expirationSeconds it never expires (as a token Secret's). */
  serviceAccountToken(namespace: string, name: string, uid: string, expirationSeconds?: number): IssuedToken;
  /** Who a bearer token is; undefined for unknown, expired or revoked tokens. */
  authenticate(bearer: string): Identity | undefined;
  /** The service account is deleted: its tokens stop working. */
  forgetServiceAccount(namespace: string, name: string): void;
  /** One token stops working (its Secret was deleted). */
  revokeToken(token: string): void;
}

export interface TokensOptions {
  /** Clock in milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

interface TokenRow {
  user: string;
  uid: string | null;
  groups: string;
  expires_ms: number | null;
}

export function createTokens(db: Database.Database, opts: TokensOptions = {}): Tokens {
  const now = opts.now ?? Date.now;
  db.exec(`
    CREATE TABLE IF NOT EXISTS k8s_tokens (
      hash TEXT PRIMARY KEY,
      user TEXT NOT NULL,
      uid TEXT,
      groups TEXT NOT NULL,
      sa_namespace TEXT,
      sa_name TEXT,
      expires_ms INTEGER
    );
    CREATE INDEX IF NOT EXISTS k8s_tokens_sa ON k8s_tokens (sa_namespace, sa_name);
    CREATE TABLE IF NOT EXISTS k8s_admin_token (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL);
  `);
  const insert = db.prepare(
    'INSERT INTO k8s_tokens (hash, user, uid, groups, sa_namespace, sa_name, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const lookup = db.prepare<[string], TokenRow>('SELECT user, uid, groups, expires_ms FROM k8s_tokens WHERE hash = ?');
  const forget = db.prepare('DELETE FROM k8s_tokens WHERE sa_namespace = ? AND sa_name = ?');
  const revoke = db.prepare('DELETE FROM k8s_tokens WHERE hash = ?');
  const pruneExpired = db.prepare('DELETE FROM k8s_tokens WHERE expires_ms IS NOT NULL AND expires_ms <= ?');
  const readAdmin = db.prepare<[], { token: string }>('SELECT token FROM k8s_admin_token WHERE id = 1');
  const writeAdmin = db.prepare('INSERT INTO k8s_admin_token (id, token) VALUES (1, ?)');

  const makeAdmin = db.transaction((): string => {
    const found = readAdmin.get();
    if (found) return found.token;
    const token = newToken();
    writeAdmin.run(token);
    insert.run(hashToken(token), ADMIN_USER, null, JSON.stringify(['system:masters', 'system:authenticated']), null, null, null);
    return token;
  });

  return {
    adminToken: () => makeAdmin(),
    serviceAccountToken(namespace, name, uid, expirationSeconds) {
      const token = newToken();
      const expiresMs = expirationSeconds === undefined ? null : now() + expirationSeconds * 1000;
      pruneExpired.run(now());
      const identity = serviceAccountIdentity(namespace, name, uid);
      insert.run(hashToken(token), identity.user, uid, JSON.stringify(identity.groups), namespace, name, expiresMs);
      return { token, expiration: expiresMs === null ? undefined : rfc3339(expiresMs) };
    },
    authenticate(bearer) {
      if (bearer.length === 0 || bearer.length > 4096) return undefined;
      const row = lookup.get(hashToken(bearer));
      if (!row || (row.expires_ms !== null && row.expires_ms <= now())) return undefined;
      return { user: row.user, ...(row.uid ? { uid: row.uid } : {}), groups: JSON.parse(row.groups) as string[] };
    },
    forgetServiceAccount(namespace, name) {
      forget.run(namespace, name);
    },
    revokeToken(token) {
      revoke.run(hashToken(token));
    },
  };
}

/** A service account's user.Info, as Kubernetes' service account authenticator builds it. */
export function serviceAccountIdentity(namespace: string, name: string, uid?: string): Identity {
  return {
    user: `system:serviceaccount:${namespace}:${name}`,
    ...(uid ? { uid } : {}),
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

export const SERVICE_ACCOUNT_TOKEN_TYPE = 'kubernetes.io/service-account-token';
export const SERVICE_ACCOUNT_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
export const SERVICE_ACCOUNT_UID_ANNOTATION = 'kubernetes.io/service-account.uid';

/**
 * What the token controller does to a new Secret of type kubernetes.io/service-account-token naming an existing
 * service account: the account's uid annotation, and data.token, data["ca.crt"], data.namespace (base64). Returns the
 * filled Secret, or undefined when the Secret is not such a token Secret, is already filled, or names no existing
 * account (or an account with another uid): the real controller then leaves it alone or deletes it.
 */
export function fillServiceAccountTokenSecret(
  secret: KubeObject,
  serviceAccount: KubeObject | undefined,
  tokens: Tokens,
  caPem: string,
): KubeObject | undefined {
  if (secret['type'] !== SERVICE_ACCOUNT_TOKEN_TYPE || !serviceAccount) return undefined;
  const annotations = secret.metadata.annotations ?? {};
  const saName = annotations[SERVICE_ACCOUNT_NAME_ANNOTATION];
  const namespace = secret.metadata.namespace ?? '';
  const saUid = serviceAccount.metadata.uid ?? '';
  if (saName === undefined || saName !== serviceAccount.metadata.name || namespace !== serviceAccount.metadata.namespace) return undefined;
  const wantedUid = annotations[SERVICE_ACCOUNT_UID_ANNOTATION];
  if (wantedUid !== undefined && wantedUid !== saUid) return undefined;
  const data = (secret['data'] ?? {}) as Record<string, string>;
  if (data['token']) return undefined;
  const { token } = tokens.serviceAccountToken(namespace, saName, saUid);
  return {
    ...secret,
    metadata: { ...secret.metadata, annotations: { ...annotations, [SERVICE_ACCOUNT_UID_ANNOTATION]: saUid } },
    data: { ...data, 'ca.crt': base64(caPem), namespace: base64(namespace), token: base64(token) },
  };
}

/** The token a filled token Secret holds (to revoke it when the Secret is deleted). */
export function tokenOfSecret(secret: KubeObject): string | undefined {
  if (secret['type'] !== SERVICE_ACCOUNT_TOKEN_TYPE) return undefined;
  const encoded = ((secret['data'] ?? {}) as Record<string, unknown>)['token'];
  return typeof encoded === 'string' ? Buffer.from(encoded, 'base64').toString('utf8') : undefined;
}

/** The audience a TokenRequest gets when it names none: the API server's own (its default issuer). */
export const DEFAULT_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
const MIN_EXPIRATION_SECONDS = 600;
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;

/**
 * POST …/serviceaccounts/NAME/token: validates the TokenRequest body (422 Invalid as Kubernetes words it), issues a
 * token for the account and answers the TokenRequest with spec defaulted and status.token/expirationTimestamp set.
 */
export function answerTokenRequest(body: unknown, serviceAccount: KubeObject, tokens: Tokens): KubeObject {
  const name = serviceAccount.metadata.name ?? '';
  const namespace = serviceAccount.metadata.namespace ?? '';
  const request = (isRecord(body) ? body : {}) as Record<string, unknown>;
  const spec = isRecord(request['spec']) ? request['spec'] : {};
  const rawExpiration = spec['expirationSeconds'];
  const expirationSeconds = rawExpiration === undefined || rawExpiration === null ? DEFAULT_EXPIRATION_SECONDS : rawExpiration;
  const causes: Cause[] = [];
  if (typeof expirationSeconds !== 'number' || !Number.isInteger(expirationSeconds)) {
    causes.push(invalid('spec.expirationSeconds', expirationSeconds, 'must be an integer'));
  } else if (expirationSeconds < MIN_EXPIRATION_SECONDS) {
    causes.push(invalid('spec.expirationSeconds', expirationSeconds, 'may not specify a duration less than 10 minutes'));
  } else if (expirationSeconds > MAX_EXPIRATION_SECONDS) {
    causes.push(invalid('spec.expirationSeconds', expirationSeconds, 'may not specify a duration larger than 2^32 seconds'));
  }
  const audiences = spec['audiences'];
  if (audiences !== undefined && audiences !== null && (!Array.isArray(audiences) || !audiences.every((a) => typeof a === 'string'))) {
    causes.push(invalid('spec.audiences', audiences, 'must be a list of strings'));
  }
  if (causes.length > 0) throw invalidError('TokenRequest', 'authentication.k8s.io', name, causes);
  const seconds = expirationSeconds as number;
  const issued = tokens.serviceAccountToken(namespace, name, serviceAccount.metadata.uid ?? '', seconds);
  const given = Array.isArray(audiences) && audiences.length > 0 ? (audiences as string[]) : [DEFAULT_AUDIENCE];
  return {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { name, namespace, creationTimestamp: null as unknown as string },
    spec: { audiences: given, expirationSeconds: seconds, boundObjectRef: spec['boundObjectRef'] ?? null },
    status: { token: issued.token, expirationTimestamp: issued.expiration },
  };
}

function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

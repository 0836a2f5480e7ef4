/**
 * Dashboard sessions (provably_ui_sessions, migration 9): a random token in an HttpOnly cookie,
 * stored as its SHA-256; the CSRF token of a session is derived from its token, so it needs no
 * column and cannot be computed by a page that cannot read the cookie.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../store/types.js';

export interface UiSession {
  tenant: string;
  role: 'reviewer' | 'admin';
  keyId: string;
  /** The reviewer identity recorded with decisions: the key's name, else `key:<prefix>`. */
  reviewer: string;
  expiresAt: Date;
  /** The token to put in every form (hidden field `csrf`). */
  csrf: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The CSRF token of the session whose cookie token is `token`. */
export function csrfTokenOf(token: string): string {
  return sha256(`provably-ui-csrf\u0000${token}`);
}

/** Constant-time comparison of a submitted CSRF token with the session's. */
export function csrfMatches(session: UiSession, submitted: unknown): boolean {
  if (typeof submitted !== 'string' || submitted.length !== session.csrf.length) return false;
  return timingSafeEqual(Buffer.from(submitted), Buffer.from(session.csrf));
}

export interface NewSession {
  tenant: string;
  role: 'reviewer' | 'admin';
  keyId: string;
  reviewer: string;
  ttlSeconds: number;
}

/** Stores a new session and returns its cookie token. Expired sessions are swept on the way. */
export async function createSession(
  q: Queryable,
  s: NewSession,
): Promise<{ token: string; expiresAt: Date }> {
  await q.query('DELETE FROM provably_ui_sessions WHERE expires_at <= now()');
  const token = randomBytes(32).toString('base64url');
  const res = await q.query<{ expires_at: Date }>(
    `INSERT INTO provably_ui_sessions (token_sha256, org_id, role, key_id, reviewer, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::int)) RETURNING expires_at`,
    [sha256(token), s.tenant, s.role, s.keyId, s.reviewer, Math.trunc(s.ttlSeconds)],
  );
  return { token, expiresAt: (res.rows[0] as { expires_at: Date }).expires_at };
}

/** The live session of a cookie token, or null (unknown, expired, malformed). */
export async function readSession(q: Queryable, token: string | undefined): Promise<UiSession | null> {
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const res = await q.query<Record<string, unknown>>(
    `SELECT org_id, role, key_id, reviewer, expires_at FROM provably_ui_sessions
     WHERE token_sha256 = $1 AND expires_at > now()`,
    [sha256(token)],
  );
  const r = res.rows[0];
  if (!r) return null;
  return {
    tenant: String(r.org_id),
    role: r.role === 'admin' ? 'admin' : 'reviewer',
    keyId: String(r.key_id),
    reviewer: String(r.reviewer),
    expiresAt: r.expires_at as Date,
    csrf: csrfTokenOf(token),
  };
}

/** Ends a session (sign-out). */
export async function deleteSession(q: Queryable, token: string | undefined): Promise<void> {
  if (typeof token !== 'string' || token === '') return;
  await q.query('DELETE FROM provably_ui_sessions WHERE token_sha256 = $1', [sha256(token)]);
}

/**
 * The reviewer identity of a key (NOTES: the key's name, else `key:<prefix>`). The prefix is the
 * public part of `pvk_<prefix>_<secret>`; the secret never leaves this function.
 */
export function reviewerOf(key: string, keyName: string | null, fallback: string): string {
  if (keyName !== null && keyName.trim() !== '') return keyName.trim();
  const m = /^pvk_([A-Za-z0-9]{8})_/.exec(key);
  return `key:${m ? m[1] : fallback}`;
}

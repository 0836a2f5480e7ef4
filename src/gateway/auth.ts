/**
 * API keys: `pvk_<prefix>_<secret>` — an 8-character random prefix (kept for display and
 * revocation) and a secret of 32 random bytes (base64url). Only the SHA-256 of the whole key is
 * stored, so a copy of the database yields no usable key; the key is shown once, at creation.
 *
 * A key belongs to one tenant and has one role: agent (execute, read its own escalations,
 * report outcomes), reviewer (escalations and audit), admin (everything, policies). An agent
 * key may be bound to one agent id: its requests then act as that agent only.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { ProvablyConfigError } from '../errors/index.js';
import type { Queryable } from '../store/types.js';
import { getTenant } from './tenants.js';

export type ApiRole = 'agent' | 'reviewer' | 'admin';
export const API_ROLES: readonly ApiRole[] = ['agent', 'reviewer', 'admin'];

/** Who a request acts as (resolved from its key). */
export interface ApiPrincipal {
  tenant: string;
  role: ApiRole;
  keyId: string;
  keyName: string | null;
  agentId: string | null;
  /** The key's display prefix (also the reviewer identity of an unnamed key). */
  keyPrefix: string;
}

export interface ApiKeyInfo {
  id: string;
  tenant: string;
  role: ApiRole;
  name: string | null;
  agentId: string | null;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export const API_KEY_HEADER = 'x-provably-api-key';
/** Accepted too, for clients written against the Provenance gateway. */
export const API_KEY_HEADER_COMPAT = 'x-provenance-api-key';

const KEY_FORMAT = /^pvk_([a-z0-9]{8})_([A-Za-z0-9_-]{43,})$/;
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function apiKeySha256(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A fresh key and what is stored of it. */
export function generateApiKey(): { key: string; prefix: string; sha256: string } {
  // 8 characters from 36 by rejection-free modulo over bytes < 252 (= 7·36): uniform.
  let prefix = '';
  while (prefix.length < 8) {
    for (const b of randomBytes(16)) {
      if (b < 252 && prefix.length < 8) prefix += PREFIX_ALPHABET[b % 36];
    }
  }
  const key = `pvk_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, sha256: apiKeySha256(key) };
}

export interface CreateApiKeyInput {
  tenant: string;
  role: ApiRole;
  name?: string;
  /** Bind an agent key to one agent id. */
  agentId?: string;
}

/** Creates a key for an existing tenant. Returns the key (shown once) and what is stored. */
export async function createApiKey(
  q: Queryable,
  input: CreateApiKeyInput,
): Promise<{ key: string; info: ApiKeyInfo }> {
  if (!API_ROLES.includes(input.role)) {
    throw new ProvablyConfigError(
      '--role',
      `expected agent, reviewer or admin, got ${JSON.stringify(input.role)}`,
    );
  }
  if (input.agentId !== undefined && input.role !== 'agent') {
    throw new ProvablyConfigError('--agent', 'only an agent key can be bound to an agent id');
  }
  for (const [field, v] of [
    ['--name', input.name],
    ['--agent', input.agentId],
  ] as const) {
    if (v !== undefined && (v.trim() === '' || v.length > 200 || v.includes('\u0000'))) {
      throw new ProvablyConfigError(field, 'expected 1-200 characters');
    }
  }
  if ((await getTenant(q, input.tenant)) === null) {
    throw new ProvablyConfigError(
      '--tenant',
      `no tenant ${JSON.stringify(input.tenant)} (provably tenants create)`,
    );
  }
  for (let attempt = 0; ; attempt++) {
    const { key, prefix, sha256 } = generateApiKey();
    const res = await q.query<Record<string, unknown>>(
      `INSERT INTO provably_api_keys (id, tenant, role, name, agent_id, prefix, key_sha256)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING *`,
      [randomUUID(), input.tenant, input.role, input.name ?? null, input.agentId ?? null, prefix, sha256],
    );
    const row = res.rows[0];
    if (row !== undefined) return { key, info: toInfo(row) };
    // A prefix collision (1 in 36^8 per existing key): draw again.
    if (attempt >= 5) throw new Error('could not draw a unique API key prefix');
  }
}

export async function listApiKeys(q: Queryable, options: { tenant?: string } = {}): Promise<ApiKeyInfo[]> {
  const res = await q.query<Record<string, unknown>>(
    options.tenant === undefined
      ? `SELECT * FROM provably_api_keys ORDER BY tenant, created_at`
      : `SELECT * FROM provably_api_keys WHERE tenant = $1 ORDER BY created_at`,
    options.tenant === undefined ? [] : [options.tenant],
  );
  return res.rows.map(toInfo);
}

/**
 * Revokes a key by id or prefix (from then on it answers 401). Returns the key, or null when
 * none matches. Revoking a revoked key changes nothing and returns it.
 */
export async function revokeApiKey(q: Queryable, idOrPrefix: string): Promise<ApiKeyInfo | null> {
  const byId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrPrefix);
  const where = byId ? 'id = $1::uuid' : 'prefix = $1';
  const res = await q.query<Record<string, unknown>>(
    `UPDATE provably_api_keys SET revoked_at = now() WHERE ${where} AND revoked_at IS NULL RETURNING *`,
    [idOrPrefix],
  );
  if (res.rows[0]) return toInfo(res.rows[0]);
  const found = await q.query<Record<string, unknown>>(`SELECT * FROM provably_api_keys WHERE ${where}`, [
    idOrPrefix,
  ]);
  return found.rows[0] ? toInfo(found.rows[0]) : null;
}

/** The principal a key acts as; null for a malformed, unknown or revoked key. */
export async function resolveApiKey(q: Queryable, key: string): Promise<ApiPrincipal | null> {
  if (typeof key !== 'string' || !KEY_FORMAT.test(key)) return null;
  const res = await q.query<Record<string, unknown>>(
    `SELECT id, tenant, role, name, agent_id, prefix FROM provably_api_keys WHERE key_sha256 = $1 AND revoked_at IS NULL`,
    [apiKeySha256(key)],
  );
  const r = res.rows[0];
  if (r === undefined) return null;
  return {
    tenant: String(r.tenant),
    role: r.role as ApiRole,
    keyId: String(r.id),
    keyName: r.name === null ? null : String(r.name),
    agentId: r.agent_id === null ? null : String(r.agent_id),
    keyPrefix: String(r.prefix),
  };
}

/** The reviewer identity recorded for decisions made with this key: its name, else `key:<prefix>`. */
export function reviewerOf(principal: ApiPrincipal): string {
  return principal.keyName ?? `key:${principal.keyPrefix}`;
}

export function hasRole(principal: ApiPrincipal, roles: readonly ApiRole[]): boolean {
  return roles.includes(principal.role);
}

function toInfo(r: Record<string, unknown>): ApiKeyInfo {
  return {
    id: String(r.id),
    tenant: String(r.tenant),
    role: r.role as ApiRole,
    name: r.name === null ? null : String(r.name),
    agentId: r.agent_id === null ? null : String(r.agent_id),
    prefix: String(r.prefix),
    createdAt: r.created_at as Date,
    revokedAt: (r.revoked_at ?? null) as Date | null,
  };
}

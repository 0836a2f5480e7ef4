/**
 * The trusted-endpoint registry: one row per (org, normalized URL or template) in
 * `trusted_endpoints`. Entries are normalized before they are stored so the same endpoint
 * written two ways is one entry; removal is a soft revoke so the history of what was trusted,
 * and when, is kept (the table's trigger refuses any other change).
 */
import { checkOrgId, defaultOrgId } from '../config/index.js';
import type { Queryable, Store } from '../store/index.js';
import { getDefaultStore, migrate } from '../store/index.js';
import { createTrustMatcher } from './matcher.js';
import { normalizeTrustEntry, type TrustEntryType } from './template.js';

export interface TrustedEndpoint {
  id: string;
  orgId: string;
  /** The entry as stored: normalized URL, or normalized template with `{name}` / `{name:path}`. */
  normalizedUrl: string;
  displayLabel: string | null;
  entryType: TrustEntryType;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface RegistryOptions {
  /** Defaults to PROVABLY_ORG_ID, else `default`. */
  orgId?: string;
  /** Defaults to the process-wide store from the environment (PostgreSQL or embedded PGlite). */
  store?: Store;
}

interface EndpointRow {
  id: string;
  org_id: string;
  normalized_url: string;
  display_label: string | null;
  entry_type: TrustEntryType;
  created_at: Date;
  revoked_at: Date | null;
}

const COLUMNS = 'id, org_id, normalized_url, display_label, entry_type, created_at, revoked_at';

/** Makes sure the registry's table exists (applies pending migrations; idempotent). */
export async function ensureTrustedEndpointsTable(store?: Store): Promise<void> {
  await migrate(store ?? getDefaultStore());
}

export interface AddResult {
  endpoint: TrustedEndpoint;
  /** False when an active entry for the same normalized URL already existed (nothing changed). */
  created: boolean;
}

/**
 * Trusts `url` (a URL or a template) for the org. Idempotent: adding an entry that is already
 * active returns the existing row. Throws ProvablyUrlError for URLs that can never be trusted.
 */
export async function addTrustedEndpoint(
  url: string,
  options: RegistryOptions & { label?: string } = {},
): Promise<AddResult> {
  const { normalized, entryType } = normalizeTrustEntry(url);
  const orgId = resolveOrg(options.orgId);
  const store = options.store ?? getDefaultStore();
  const label = options.label?.trim() ? options.label.trim() : null;
  return store.transaction(async (tx) => {
    // ON CONFLICT against the partial unique index keeps two concurrent adds from both
    // inserting; the loser reads the winner's row.
    const inserted = await tx.query<EndpointRow>(
      `INSERT INTO trusted_endpoints (org_id, normalized_url, display_label, entry_type)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (org_id, normalized_url) WHERE revoked_at IS NULL DO NOTHING
       RETURNING ${COLUMNS}`,
      [orgId, normalized, label, entryType],
    );
    const row = inserted.rows[0];
    if (row) return { endpoint: toEndpoint(row), created: true };
    const existing = await findActive(tx, orgId, normalized);
    if (!existing) throw new Error('trusted endpoint vanished between insert and read');
    return { endpoint: existing, created: false };
  });
}

/**
 * Revokes the active entry for `url` in the org (the row stays, with revoked_at set). Returns
 * the revoked entry, or null when no active entry matched the normalized URL.
 */
export async function removeTrustedEndpoint(
  url: string,
  options: RegistryOptions = {},
): Promise<TrustedEndpoint | null> {
  const { normalized } = normalizeTrustEntry(url);
  const orgId = resolveOrg(options.orgId);
  const store = options.store ?? getDefaultStore();
  const res = await store.query<EndpointRow>(
    `UPDATE trusted_endpoints SET revoked_at = now()
     WHERE org_id = $1 AND normalized_url = $2 AND revoked_at IS NULL
     RETURNING ${COLUMNS}`,
    [orgId, normalized],
  );
  const row = res.rows[0];
  return row ? toEndpoint(row) : null;
}

/** The org's entries, oldest first; revoked ones only when asked for. */
export async function listTrustedEndpoints(
  options: RegistryOptions & { includeRevoked?: boolean } = {},
): Promise<TrustedEndpoint[]> {
  const orgId = resolveOrg(options.orgId);
  const store = options.store ?? getDefaultStore();
  const res = await store.query<EndpointRow>(
    `SELECT ${COLUMNS} FROM trusted_endpoints
     WHERE org_id = $1 ${options.includeRevoked ? '' : 'AND revoked_at IS NULL'}
     ORDER BY created_at, normalized_url`,
    [orgId],
  );
  return res.rows.map(toEndpoint);
}

/**
 * Whether `url` is trusted by the org's active entries right now (one store read; the
 * interception layer uses the cached form in ./cache.ts instead).
 */
export async function isTrustedEndpoint(url: string, orgId?: string, store?: Store): Promise<boolean> {
  const entries = await listTrustedEndpoints({ orgId: resolveOrg(orgId), store: store ?? getDefaultStore() });
  return createTrustMatcher(entries.map((e) => e.normalizedUrl)).match(url) !== null;
}

async function findActive(q: Queryable, orgId: string, normalized: string): Promise<TrustedEndpoint | null> {
  const res = await q.query<EndpointRow>(
    `SELECT ${COLUMNS} FROM trusted_endpoints WHERE org_id = $1 AND normalized_url = $2 AND revoked_at IS NULL`,
    [orgId, normalized],
  );
  const row = res.rows[0];
  return row ? toEndpoint(row) : null;
}

function resolveOrg(orgId: string | undefined): string {
  return orgId === undefined ? defaultOrgId() : checkOrgId(orgId);
}

function toEndpoint(row: EndpointRow): TrustedEndpoint {
  return {
    id: row.id,
    orgId: row.org_id,
    normalizedUrl: row.normalized_url,
    displayLabel: row.display_label,
    entryType: row.entry_type,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

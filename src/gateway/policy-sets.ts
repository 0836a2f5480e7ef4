/**
 * Each tenant's Cedar policy sets, versioned and append-only (provably_policy_sets): a PUT adds
 * version N+1 only when it compiles (and validates against its schema); the highest version
 * serves. Refused text never reaches the table, so the previous good set keeps serving.
 */
import { PolicySetError, ProvablyConfigError } from '../errors/index.js';
import { compilePolicySet } from '../policy/index.js';
import type { Queryable } from '../store/types.js';
import { isStorableText } from './text.js';

export interface PolicySetVersion {
  tenant: string;
  version: number;
  /** The engine's version of this text + schema (`sha256:…`): what decisions record. */
  digest: string;
  text: string;
  schema: string | null;
  createdAt: Date;
  createdBy: string;
}

export type PolicySetSummary = Pick<PolicySetVersion, 'version' | 'digest' | 'createdAt' | 'createdBy'>;

const MAX_TEXT = 512 * 1024;

/** NOTIFY channel carrying the tenant id of every new policy set version. */
export const POLICY_CHANNEL = 'provably_policy_sets';

/**
 * Policy text always ends with a newline: the engine reads a one-line value without `;{(` as a
 * FILE PATH, and text stored here must never be taken for one.
 */
export function normalizePolicyText(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/**
 * Compiles, then stores as the next version. Throws PolicySetError (policy id, line, column)
 * for text that does not compile or validate, ProvablyConfigError for text that is not text.
 * Storing the text that already serves adds nothing and returns the serving version.
 */
export async function putPolicySet(
  q: Queryable,
  input: { tenant: string; text: string; schema?: string | null; createdBy: string },
): Promise<PolicySetVersion> {
  const text = checkText(input.text, 'text');
  const schema =
    input.schema === undefined || input.schema === null ? null : checkText(input.schema, 'schema');
  const compiled = compilePolicySet({
    text,
    source: `<policy set of ${input.tenant}>`,
    schema: schema ?? undefined,
    schemaSource: '<schema>',
  });
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await currentPolicySet(q, input.tenant);
    if (current !== null && current.digest === compiled.version) return current;
    // Two PUTs racing for the same version: the loser sees the conflict and goes again.
    // The NOTIFY rides in the INSERT's statement: delivered exactly when the row commits, so
    // every gateway listening learns of the new version (policy-changes.ts).
    const res = await q.query<Record<string, unknown>>(
      `WITH added AS (
         INSERT INTO provably_policy_sets (tenant, version, digest, text, schema, created_by)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant, version) DO NOTHING RETURNING *)
       SELECT added.*, pg_notify('${POLICY_CHANNEL}', added.tenant)::text AS notified FROM added`,
      [input.tenant, (current?.version ?? 0) + 1, compiled.version, text, schema, input.createdBy],
    );
    if (res.rows[0]) return toVersion(res.rows[0]);
  }
  throw new ProvablyConfigError('policy', 'too many concurrent policy updates; try again');
}

/** The version serving now, or null when the tenant has none. */
export async function currentPolicySet(q: Queryable, tenant: string): Promise<PolicySetVersion | null> {
  const res = await q.query<Record<string, unknown>>(
    `SELECT * FROM provably_policy_sets WHERE tenant = $1 ORDER BY version DESC LIMIT 1`,
    [tenant],
  );
  return res.rows[0] ? toVersion(res.rows[0]) : null;
}

export async function policySetVersion(
  q: Queryable,
  tenant: string,
  version: number,
): Promise<PolicySetVersion | null> {
  const res = await q.query<Record<string, unknown>>(
    `SELECT * FROM provably_policy_sets WHERE tenant = $1 AND version = $2`,
    [tenant, version],
  );
  return res.rows[0] ? toVersion(res.rows[0]) : null;
}

/** The newest version with this digest (what a decision's policy_version names), or null. */
export async function policySetByDigest(
  q: Queryable,
  tenant: string,
  digest: string,
): Promise<PolicySetVersion | null> {
  const res = await q.query<Record<string, unknown>>(
    `SELECT * FROM provably_policy_sets WHERE tenant = $1 AND digest = $2 ORDER BY version DESC LIMIT 1`,
    [tenant, digest],
  );
  return res.rows[0] ? toVersion(res.rows[0]) : null;
}

/** Every version, newest first (without the text). */
export async function policyHistory(q: Queryable, tenant: string, limit = 100): Promise<PolicySetSummary[]> {
  const res = await q.query<Record<string, unknown>>(
    `SELECT version, digest, created_at, created_by FROM provably_policy_sets
     WHERE tenant = $1 ORDER BY version DESC LIMIT $2`,
    [tenant, limit],
  );
  return res.rows.map((r) => ({
    version: Number(r.version),
    digest: String(r.digest),
    createdAt: r.created_at as Date,
    createdBy: String(r.created_by),
  }));
}

function checkText(value: unknown, field: string): string {
  if (typeof value !== 'string')
    throw new ProvablyConfigError(field, `expected a string, got ${typeof value}`);
  if (value.trim() === '') {
    throw new PolicySetError(`<${field}>`, [
      {
        policyId: undefined,
        line: undefined,
        column: undefined,
        message: `the ${field} is empty`,
        kind: 'parse',
      },
    ]);
  }
  if (value.length > MAX_TEXT) throw new ProvablyConfigError(field, `longer than ${MAX_TEXT} characters`);
  if (!isStorableText(value)) {
    throw new ProvablyConfigError(field, 'contains U+0000 or a lone surrogate, which cannot be stored');
  }
  return normalizePolicyText(value);
}

function toVersion(r: Record<string, unknown>): PolicySetVersion {
  return {
    tenant: String(r.tenant),
    version: Number(r.version),
    digest: String(r.digest),
    text: String(r.text),
    schema: r.schema === null || r.schema === undefined ? null : String(r.schema),
    createdAt: r.created_at as Date,
    createdBy: String(r.created_by),
  };
}

/** Tenants: a tenant is a ledger org (its id is the org_id of its decisions and records). */
import { checkOrgId } from '../config/index.js';
import { ProvablyConfigError } from '../errors/index.js';
import type { Queryable } from '../store/types.js';

export interface Tenant {
  id: string;
  name: string;
  createdAt: Date;
}

/** `Billing Team` → `billing-team`: a readable default id. */
export function tenantIdFromName(name: string): string {
  const slug = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
  if (slug === '') {
    throw new ProvablyConfigError('--id', `cannot derive an id from ${JSON.stringify(name)}; give one`);
  }
  return slug;
}

/** Creates a tenant; ProvablyConfigError when the id is taken or invalid. */
export async function createTenant(q: Queryable, input: { name: string; id?: string }): Promise<Tenant> {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name === '' || name.length > 200 || name.includes('\u0000')) {
    throw new ProvablyConfigError('name', 'a tenant name must be 1-200 characters');
  }
  const id = checkOrgId(input.id ?? tenantIdFromName(name), 'id');
  if (id.includes('\u0000')) throw new ProvablyConfigError('id', 'a tenant id cannot contain U+0000');
  const res = await q.query<Record<string, unknown>>(
    `INSERT INTO provably_tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING *`,
    [id, name],
  );
  const row = res.rows[0];
  if (row === undefined) throw new ProvablyConfigError('id', `tenant ${JSON.stringify(id)} already exists`);
  return toTenant(row);
}

export async function listTenants(q: Queryable): Promise<Tenant[]> {
  const res = await q.query<Record<string, unknown>>(
    `SELECT * FROM provably_tenants ORDER BY created_at, id`,
  );
  return res.rows.map(toTenant);
}

export async function getTenant(q: Queryable, id: string): Promise<Tenant | null> {
  const res = await q.query<Record<string, unknown>>(`SELECT * FROM provably_tenants WHERE id = $1`, [id]);
  return res.rows[0] ? toTenant(res.rows[0]) : null;
}

function toTenant(r: Record<string, unknown>): Tenant {
  return { id: String(r.id), name: String(r.name), createdAt: r.created_at as Date };
}

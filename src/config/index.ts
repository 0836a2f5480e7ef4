/**
 * Configuration from the environment. Read on demand (never cached at import) so tests and
 * the CLI can change the environment between calls; every invalid value is a typed
 * ProvablyConfigError naming the variable.
 */
import { resolve } from 'node:path';
import { ProvablyConfigError } from '../errors/index.js';

export type Env = Record<string, string | undefined>;

export const DEFAULT_ORG_ID = 'default';
export const DEFAULT_DATA_DIR = '.provably';
export const DEFAULT_POOL_SIZE = 10;

export interface StoreConfig {
  /** PostgreSQL connection string; when absent the embedded PGlite store is used. */
  databaseUrl: string | undefined;
  /** Where the embedded store keeps its files (absolute). */
  dataDir: string;
  /** Maximum connections in the PostgreSQL pool. */
  poolSize: number;
}

export function readStoreConfig(env: Env = process.env): StoreConfig {
  const databaseUrl = nonEmpty(env.PROVABLY_DATABASE_URL) ?? nonEmpty(env.POSTGRES_URL);
  return {
    databaseUrl,
    dataDir: resolve(nonEmpty(env.PROVABLY_DATA_DIR) ?? DEFAULT_DATA_DIR),
    poolSize: readPositiveInt(env, 'PROVABLY_DB_POOL_SIZE', DEFAULT_POOL_SIZE),
  };
}

/** The org used when a call or command names none: PROVABLY_ORG_ID, else `default`. */
export function defaultOrgId(env: Env = process.env): string {
  const org = nonEmpty(env.PROVABLY_ORG_ID) ?? DEFAULT_ORG_ID;
  return checkOrgId(org, 'PROVABLY_ORG_ID');
}

/** Org ids are free text but never empty or padded: they key every table. */
export function checkOrgId(org: string, setting = 'org'): string {
  if (typeof org !== 'string' || org.trim() === '' || org !== org.trim() || org.length > 200) {
    throw new ProvablyConfigError(
      setting,
      `org id must be 1-200 characters without surrounding spaces, got ${JSON.stringify(org)}`,
    );
  }
  return org;
}

export function readPositiveInt(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
    throw new ProvablyConfigError(name, `expected a positive integer, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

export function readFlag(env: Env, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const v = raw.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ProvablyConfigError(
    name,
    `expected 1/0, true/false, yes/no or on/off, got ${JSON.stringify(raw)}`,
  );
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/**
 * PROVABLY_AUTO_MIGRATE (default on): whether a store opened from the configuration applies
 * pending schema migrations on first use. Off, a store whose schema is behind refuses queries
 * until `provably migrate` has run (deployments that migrate as a separate step).
 */
export function readAutoMigrate(env: Env = process.env): boolean {
  return readFlag(env, 'PROVABLY_AUTO_MIGRATE', true);
}

/** What the dashboard is given by the server that mounts it (the gateway). */
import type { Signer, TrustedKeys } from '../ledger/index.js';
import type { Store } from '../store/types.js';

/**
 * Who an API key belongs to: the shape of `ApiPrincipal` in src/gateway/auth.ts (REST contract
 * v1). Declared here structurally so the dashboard takes the resolver as an option and does not
 * import the server that mounts it.
 */
export interface DashboardPrincipal {
  tenant: string;
  role: 'agent' | 'reviewer' | 'admin';
  keyId: string;
  keyName: string | null;
  agentId: string | null;
  /** The key's public prefix (`pvk_<prefix>_…`): the reviewer identity of an unnamed key. */
  keyPrefix?: string;
}

/** One stored version of a tenant's policy set (the gateway's provably_policy_sets). */
export interface DashboardPolicySet {
  version: number;
  digest: string;
  text: string;
  schema: string | null;
  createdAt: Date;
  createdBy: string;
}

/**
 * The gateway's policy set store, for the policies page: given as functions so the dashboard
 * does not import the server that mounts it. `put` throws PolicySetError (policy id, line,
 * column) for a set that does not compile or validate, and stores nothing then.
 */
export interface DashboardPolicies {
  current(store: Store, tenant: string): Promise<DashboardPolicySet | null>;
  history(
    store: Store,
    tenant: string,
  ): Promise<Pick<DashboardPolicySet, 'version' | 'digest' | 'createdAt' | 'createdBy'>[]>;
  put(
    store: Store,
    input: { tenant: string; text: string; schema?: string | null; createdBy: string },
  ): Promise<Pick<DashboardPolicySet, 'version' | 'digest'>>;
  /** The stored version whose digest a decision recorded (its policy text), or null. */
  byDigest?(store: Store, tenant: string, digest: string): Promise<DashboardPolicySet | null>;
}

export interface DashboardOptions {
  store: Store;
  /** The gateway's API key resolver: null for an unknown or revoked key. */
  resolveApiKey(store: Store, key: string): Promise<DashboardPrincipal | null>;
  /**
   * Whether the key a session was opened with is still valid: checked on every request, so
   * revoking a key ends its sessions at once. Absent: sessions live until they expire.
   */
  isKeyActive?(store: Store, keyId: string): Promise<boolean>;
  /** Where the app is mounted (default `/ui`): links and the cookie path use it. */
  basePath?: string;
  /** Session lifetime in seconds (default 8 hours). */
  sessionTtlSeconds?: number;
  /**
   * Signs a checkpoint when the verify button finds records no checkpoint covers yet. Without
   * one, verify uses the latest stored checkpoint as it is.
   */
  signer?: Signer | (() => Signer);
  /** Keys a checkpoint must be signed with (default: the signer's own key). */
  trustedKeys?: TrustedKeys;
  /**
   * Mark the cookie Secure. Default: when the request arrived over HTTPS (by its URL or a
   * `X-Forwarded-Proto: https` header).
   */
  secureCookies?: boolean;
  /** Seconds between the queue page's polls for changes (default 2). */
  pollSeconds?: number;
  /** The policies page (absent: the page says policies are managed elsewhere). */
  policies?: DashboardPolicies;
  /** Audit events per page (default 50, at most 500). */
  auditPageSize?: number;
}

export const DEFAULT_BASE_PATH = '/ui';
export const DEFAULT_SESSION_TTL_SECONDS = 8 * 60 * 60;

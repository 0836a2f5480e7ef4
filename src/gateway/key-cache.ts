/**
 * Resolved API keys, remembered for a short while (default 1 s) so an execute does not pay a
 * key lookup every time. Only keys that resolved are kept (a new key works at once; unknown
 * keys always go to the store). The price: a revocation takes effect within the cache time on
 * every replica (each holds its own cache; a revocation through this gateway's REST is seen at
 * once here).
 */
import type { Queryable } from '../store/types.js';
import { type ApiPrincipal, apiKeySha256, resolveApiKey } from './auth.js';

export const DEFAULT_KEY_CACHE_MS = 1000;
const MAX_ENTRIES = 10_000;

export class KeyCache {
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { principal: ApiPrincipal; until: number }>();

  constructor(ttlMs = DEFAULT_KEY_CACHE_MS) {
    this.#ttlMs = ttlMs;
  }

  async resolve(q: Queryable, key: string): Promise<ApiPrincipal | null> {
    if (this.#ttlMs <= 0) return resolveApiKey(q, key);
    const digest = apiKeySha256(key);
    const hit = this.#entries.get(digest);
    const now = performance.now();
    if (hit !== undefined && hit.until > now) return hit.principal;
    const principal = await resolveApiKey(q, key);
    this.#entries.delete(digest);
    if (principal !== null) {
      if (this.#entries.size >= MAX_ENTRIES)
        this.#entries.delete(this.#entries.keys().next().value as string);
      this.#entries.set(digest, { principal, until: now + this.#ttlMs });
    }
    return principal;
  }

  /** Forgets a key (revoked through this gateway). */
  forget(keyId: string): void {
    for (const [digest, e] of this.#entries) if (e.principal.keyId === keyId) this.#entries.delete(digest);
  }
}

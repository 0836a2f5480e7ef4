/**
 * The in-memory trusted set the interception layer consults before every governed request.
 * Answers synchronously from a compiled matcher per org; the first question for an org waits
 * for one load. A timer reloads every org seen so far, so a `provably endpoints add/remove`
 * in another process takes effect within `refreshMs` (default 5 s) without a restart.
 * A failed reload keeps the last good snapshot (logged once per outage); a failed FIRST load
 * rejects, so a caller can fail closed instead of sending a request unchecked.
 */
import { diag } from '../diag/index.js';
import type { Store } from '../store/index.js';
import { canonicalDestinationHost, destinationKey, destinationsOf } from './destinations.js';
import { createTrustMatcher, type TrustMatcher } from './matcher.js';
import { listTrustedEndpoints } from './registry.js';

export const DEFAULT_TRUST_REFRESH_MS = 5_000;

export interface TrustedSetCacheOptions {
  /** Where entries are read from; called for every load so a reconnecting store is picked up. */
  store: () => Store;
  refreshMs?: number;
  /** Runs the cache's own store I/O outside any provably scope (the scope module's selfEgress). */
  runOutsideScope?: <T>(fn: () => T) => T;
}

export interface TrustedSetCache {
  /** The entry that trusts `url` for `orgId`, or null; a promise only until the org's first load. */
  check(url: string, orgId: string): string | null | Promise<string | null>;
  /**
   * Whether scoped code may open a socket to `host:port` for `orgId`: the host:port of one of the
   * org's trusted endpoints (scheme default ports). Synchronous once the org is loaded; a promise
   * only until its first load (which this starts).
   */
  allowsDestination(host: string, port: number, orgId: string): boolean | Promise<boolean>;
  /** Reloads one org (or all loaded orgs) now. */
  refresh(orgId?: string): Promise<void>;
  /** Stops the refresh timer. */
  close(): void;
}

interface OrgState {
  matcher: TrustMatcher | undefined;
  destinations: ReadonlySet<string> | undefined;
  loading: Promise<TrustMatcher> | undefined;
}

export function createTrustedSetCache(options: TrustedSetCacheOptions): TrustedSetCache {
  const refreshMs = options.refreshMs ?? DEFAULT_TRUST_REFRESH_MS;
  const outside = options.runOutsideScope ?? (<T>(fn: () => T) => fn());
  const orgs = new Map<string, OrgState>();
  let timer: NodeJS.Timeout | undefined;

  function load(orgId: string, state: OrgState): Promise<TrustMatcher> {
    if (state.loading) return state.loading;
    // async: a store factory that throws becomes a rejection, never a throw into the caller.
    const loading = outside(async () => listTrustedEndpoints({ orgId, store: options.store() })).then(
      (entries) => {
        const matcher = compileSkippingInvalid(
          orgId,
          entries.map((e) => e.normalizedUrl),
        );
        state.matcher = matcher;
        state.destinations = destinationsOf(entries.map((e) => e.normalizedUrl));
        state.loading = undefined;
        return matcher;
      },
      (err: unknown) => {
        state.loading = undefined;
        throw err;
      },
    );
    state.loading = loading;
    return loading;
  }

  function startTimer(): void {
    if (timer) return;
    timer = setInterval(() => {
      for (const [orgId, state] of orgs) {
        load(orgId, state).catch((err: unknown) =>
          diag.once(
            `trust-refresh:${orgId}`,
            'warn',
            `could not refresh trusted endpoints for org ${orgId}; keeping the last loaded set`,
            err,
          ),
        );
      }
    }, refreshMs);
    // The refresh must never keep the host process alive.
    timer.unref();
  }

  function stateOf(orgId: string): OrgState {
    let state = orgs.get(orgId);
    if (!state) {
      state = { matcher: undefined, destinations: undefined, loading: undefined };
      orgs.set(orgId, state);
      startTimer();
    }
    return state;
  }

  return {
    check(url, orgId) {
      const state = stateOf(orgId);
      if (state.matcher) return state.matcher.match(url);
      return load(orgId, state).then((m) => m.match(url));
    },
    allowsDestination(host, port, orgId) {
      const state = stateOf(orgId);
      const key = canonicalDestinationHost(host);
      const allowed = (set: ReadonlySet<string> | undefined) =>
        key !== null && set?.has(destinationKey(key, port)) === true;
      if (state.destinations) return allowed(state.destinations);
      return load(orgId, state).then(() => allowed(state.destinations));
    },
    async refresh(orgId) {
      const targets = orgId === undefined ? [...orgs.keys()] : [orgId];
      for (const id of targets) await load(id, stateOf(id));
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

/**
 * Compiles the org's entries, leaving out (and logging) any that this Node's URL parser
 * rejects: entries stored by another Node version can differ at the edges (Node 24 accepts
 * some punycode Node 22 refuses), and one such row must not stop every other entry from
 * trusting. A skipped entry only ever makes the set stricter.
 */
function compileSkippingInvalid(orgId: string, entries: string[]): TrustMatcher {
  try {
    return memoized(createTrustMatcher(entries));
  } catch {
    const valid = entries.filter((entry) => {
      try {
        createTrustMatcher([entry]);
        return true;
      } catch (err) {
        diag.once(
          `trust-invalid:${orgId}:${entry}`,
          'warn',
          `ignoring trusted endpoint ${JSON.stringify(entry)} of org ${orgId}: it does not parse on Node ${process.version}`,
          err,
        );
        return false;
      }
    });
    return memoized(createTrustMatcher(valid));
  }
}

const MEMO_LIMIT = 1024;

/**
 * Agents call the same few URLs over and over; normalizing a URL costs far more than a map
 * lookup. Answers are remembered per snapshot (a reload compiles a new matcher and starts
 * empty), and the memo is simply cleared when full — bounded memory, no LRU bookkeeping.
 */
function memoized(matcher: TrustMatcher): TrustMatcher {
  const memo = new Map<string, string | null>();
  return {
    size: matcher.size,
    match(url) {
      const known = memo.get(url);
      if (known !== undefined) return known;
      const answer = matcher.match(url);
      if (typeof url === 'string') {
        if (memo.size >= MEMO_LIMIT) memo.clear();
        memo.set(url, answer);
      }
      return answer;
    },
  };
}

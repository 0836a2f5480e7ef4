/**
 * The endpoint check: a record only backs a claim when its URL was a trusted endpoint.
 *
 * Snapshots consulted (each that is available must trust the URL):
 * - the receiver's: `options.trustedEndpoints` when given, else the org's registry in
 *   `options.store` (entries revoked before the call started do not count; entries added
 *   later do — the org trusts them now);
 * - the sender's: the payload's `trusted_endpoints`, when present. It is sender-supplied, so
 *   it can only add a reason to refuse, never stand in for the receiver's snapshot when the
 *   receiver has one.
 * With no snapshot at all the check cannot run: ERROR.
 */
import type { Store } from '../store/index.js';
import {
  createTrustMatcher,
  listTrustedEndpoints,
  type TrustedEndpoint,
  type TrustMatcher,
} from '../trust/index.js';

export type EndpointVerdict =
  | { ok: true; sources: string[] }
  | { ok: false; caught: boolean; check: 'endpoint' | 'store'; reason: string };

type Compiled = { ok: true; matcher: TrustMatcher } | { ok: false; message: string };

export interface EndpointContext {
  check(url: string, startedAt: string): Promise<EndpointVerdict>;
}

export function endpointContext(options: {
  orgId: string;
  receiverEntries: readonly string[] | undefined;
  store: Store | undefined;
  payloadEntries: readonly string[] | null | undefined;
}): EndpointContext {
  let receiver: Compiled | undefined;
  let payload: Compiled | undefined;
  let registry:
    | Promise<{ ok: true; entries: TrustedEndpoint[] } | { ok: false; message: string }>
    | undefined;

  const loadRegistry = () => {
    registry ??= listTrustedEndpoints({
      orgId: options.orgId,
      store: options.store,
      includeRevoked: true,
    }).then(
      (entries) => ({ ok: true as const, entries }),
      (err: unknown) => ({ ok: false as const, message: err instanceof Error ? err.message : String(err) }),
    );
    return registry;
  };

  return {
    async check(url, startedAt) {
      const snapshots: { source: string; compiled: Compiled }[] = [];
      if (options.receiverEntries !== undefined) {
        receiver ??= compile(options.receiverEntries);
        snapshots.push({ source: 'receiver trustedEndpoints', compiled: receiver });
      } else if (options.store !== undefined) {
        const loaded = await loadRegistry();
        if (!loaded.ok) {
          return {
            ok: false,
            caught: false,
            check: 'store',
            reason: `cannot read the trusted-endpoint registry: ${loaded.message}`,
          };
        }
        const at = Date.parse(startedAt);
        // NaN (unparsable start) fails every comparison: revoked entries then never count.
        const active = loaded.entries.filter((e) => e.revokedAt === null || e.revokedAt.getTime() > at);
        snapshots.push({ source: 'store registry', compiled: compile(active.map((e) => e.normalizedUrl)) });
      }
      if (options.payloadEntries !== undefined && options.payloadEntries !== null) {
        payload ??= compile(options.payloadEntries);
        snapshots.push({ source: 'payload trusted_endpoints', compiled: payload });
      }
      if (snapshots.length === 0) {
        return {
          ok: false,
          caught: false,
          check: 'endpoint',
          reason: 'no trusted-endpoint snapshot: pass trustedEndpoints or a store, or send trusted_endpoints',
        };
      }
      for (const { source, compiled } of snapshots) {
        if (!compiled.ok) {
          return {
            ok: false,
            caught: false,
            check: 'endpoint',
            reason: `invalid entry in ${source}: ${compiled.message}`,
          };
        }
        if (compiled.matcher.match(url) === null) {
          return {
            ok: false,
            caught: true,
            check: 'endpoint',
            reason: `endpoint missing from trusted snapshot (${source})`,
          };
        }
      }
      return { ok: true, sources: snapshots.map((s) => s.source) };
    },
  };
}

function compile(entries: readonly string[]): Compiled {
  try {
    return { ok: true, matcher: createTrustMatcher(entries) };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Trust matching: which registered endpoint (if any) trusts a concrete URL. Pure functions,
 * no I/O; the registry (store-backed) and the cached trusted set build on these.
 */

export {
  createTrustedSetCache,
  DEFAULT_TRUST_REFRESH_MS,
  type TrustedSetCache,
  type TrustedSetCacheOptions,
} from './cache.js';
export { canonicalDestinationHost, destinationsOf } from './destinations.js';
export { createTrustMatcher, matchTrustedUrl, type TrustMatcher } from './matcher.js';
export { normalizeUrlForTrust } from './normalize.js';
export {
  type AddResult,
  addTrustedEndpoint,
  ensureTrustedEndpointsTable,
  isTrustedEndpoint,
  listTrustedEndpoints,
  type RegistryOptions,
  removeTrustedEndpoint,
  type TrustedEndpoint,
} from './registry.js';
export {
  type NormalizedTrustEntry,
  normalizeTrustEntry,
  parseTrustEntry,
  type TrustEntryType,
  type TrustPattern,
  type TrustSegment,
} from './template.js';

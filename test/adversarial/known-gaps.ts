/**
 * Attempts that FAIL on the code in this tree, each with what happens today. The suite asserts
 * that every id listed here still fails (so a fix forces its removal from this list) and that
 * every other attempt passes. Never weaken an attempt's expectation to move it off this list:
 * fix the product, then delete the line.
 *
 * `nodeMajors` limits an entry to the Node versions where it fails (bundled undici and Node's
 * own proxy support differ between majors); without it the entry holds on every version.
 */
export interface KnownGap {
  reason: string;
  nodeMajors?: number[];
  /** The stores where it fails (a limit of the embedded store, say); without it, every store. */
  stores?: Array<'pglite' | 'postgres'>;
}

const LOCKED =
  'RESIDUAL (README, Workers and child processes: the embedded store is one process): refused with ProvablyStoreError reason locked, not ProvablyBlockedError; 0 connections, 0 bytes';

export const KNOWN_GAPS: Record<string, KnownGap | string> = {
  // Measured on the merged tree (connection guard, http2/UDP/DNS, workers, GenAI wiring) on Node
  // 22, 24 and 26, PGlite and PostgreSQL.
  // Refused with 0 connections and 0 bytes, but the client re-wraps the refusal: only the message
  // (`BLOCKED: …`) survives, not the class or code (README, Enforcement model / HTTP/2 limits).
  'grpc-js-insecure':
    'refused, 0 connections; grpc-js reports 14 UNAVAILABLE whose message (not cause) holds the ProvablyBlockedError',
  'socks-proxy-agent':
    'refused, 0 connections; socks-proxy-agent re-wraps the refusal as a plain Error with the BLOCKED message',
  // Code loaded BEFORE the preload that keeps net.Socket.prototype.connect (or the TLS socket's)
  // reaches the network: the guard patches that method when the preload runs (README).
  'pre-captured-socket-connect':
    'went through: status 0, body "connected"; http target saw 1 connections, 5 bytes',
  'pre-captured-tls-socket-proto':
    'went through: status 0, body "tls connected"; tls target saw 1 connections (TLS handshake bytes)',
  'cjs:pre-captured-socket-connect':
    'went through: status 0, body "connected"; http target saw 1 connections, 5 bytes',
  'cjs:pre-captured-tls-socket-proto':
    'went through: status 0, body "tls connected"; tls target saw 1 connections (TLS handshake bytes)',
  // Embedded store: a worker or Node child started in a scope cannot open the data dir the parent
  // holds; its governed calls fail closed with the store's error (PostgreSQL: governed normally).
  'fork-execargv-empty': { reason: LOCKED, stores: ['pglite'] },
  'fork-node-child': { reason: LOCKED, stores: ['pglite'] },
  'spawn-node-clean-env': { reason: LOCKED, stores: ['pglite'] },
  'spawn-node-e': { reason: LOCKED, stores: ['pglite'] },
  'spawn-node-inherit-env': { reason: LOCKED, stores: ['pglite'] },
  'worker-env-share-stripped': { reason: LOCKED, stores: ['pglite'] },
  'worker-eval-esm-http': { reason: LOCKED, stores: ['pglite'] },
  'worker-eval-fetch': { reason: LOCKED, stores: ['pglite'] },
  'worker-execargv-empty': { reason: LOCKED, stores: ['pglite'] },
  'worker-file-fetch': { reason: LOCKED, stores: ['pglite'] },
  'worker-file-http': { reason: LOCKED, stores: ['pglite'] },
};

/** The known gap for `id` on this Node version and store, if any. */
export function knownGap(id: string, store?: 'pglite' | 'postgres'): string | undefined {
  const gap = KNOWN_GAPS[id];
  if (gap === undefined) return undefined;
  if (typeof gap === 'string') return gap;
  const major = Number(process.versions.node.split('.')[0]);
  if (gap.nodeMajors !== undefined && !gap.nodeMajors.includes(major)) return undefined;
  if (gap.stores !== undefined && store !== undefined && !gap.stores.includes(store)) return undefined;
  return gap.reason;
}

/** What the routes share: the store and the per-process helpers built once by the app. */
import type { Signer } from '../ledger/index.js';
import type { EscalationNotifier } from '../policy/index.js';
import type { ServiceLog } from '../server/index.js';
import type { Store } from '../store/types.js';
import type { TenantEngines } from './engines.js';
import type { KeyCache } from './key-cache.js';
import type { SessionQueue } from './session-queue.js';

export interface GatewayDeps {
  store: Store;
  engines: TenantEngines;
  /** Resolved API keys, kept briefly (revocation takes effect within its time). */
  keys: KeyCache;
  /** One decision at a time per tenant + session in this process (exact session counts). */
  sessions: SessionQueue;
  /** Wakes long-polls when an escalation changes (LISTEN/NOTIFY across replicas). */
  notifier: EscalationNotifier;
  /** Param key names stored as [REDACTED] (PROVABLY_REDACT_PARAMS). */
  redact: readonly string[];
  /** How often a long-poll re-reads its row even without a notification. */
  pollMs: number;
  /** Signs the checkpoint a proof is given under; undefined: proofs answer 503. */
  signer: (() => Signer) | undefined;
  log: ServiceLog;
}

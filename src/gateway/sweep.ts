/**
 * The expiry sweep: pending escalations past their expiry (database clock) are marked
 * `expired` — with their BLOCK event "escalation timed out" — even when nobody reads or waits
 * on them, so the audit trail records a timeout as a timeout. Any replica may sweep; the
 * `WHERE status = 'pending'` guard makes a row expire exactly once.
 */
import { EscalationError } from '../errors/index.js';
import { expireEscalation } from '../policy/index.js';
import type { ServiceLog } from '../server/index.js';
import type { Store } from '../store/types.js';

export const DEFAULT_SWEEP_MS = 5_000;
const BATCH = 200;

export interface ExpirySweep {
  /** One sweep now; resolves to how many escalations it expired. */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

export function startExpirySweep(store: Store, log: ServiceLog, everyMs = DEFAULT_SWEEP_MS): ExpirySweep {
  let running: Promise<number> | undefined;
  let closed = false;
  const once = async (): Promise<number> => {
    let expired = 0;
    try {
      const due = await store.query<{ id: string }>(
        `SELECT id FROM provably_escalations WHERE status = 'pending' AND expires_at <= now()
         ORDER BY expires_at LIMIT ${BATCH}`,
      );
      for (const { id } of due.rows) {
        if (closed) break;
        try {
          if ((await expireEscalation(store, String(id))) !== null) expired++;
        } catch (err) {
          // Decided a moment before: nothing to do.
          if (!(err instanceof EscalationError && err.reason === 'conflict')) throw err;
        }
      }
      if (expired > 0) log.info('escalations expired', { count: expired });
    } catch (err) {
      log.error('expiry sweep failed', { error: err instanceof Error ? err.message : String(err) });
    }
    return expired;
  };
  const sweep = () => {
    running ??= once().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => {
    if (!closed) void sweep();
  }, everyMs);
  timer.unref();
  return {
    sweep,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * Waiting for an escalation to end: woken by the notifier, and re-reading the row at least
 * every `pollMs` (a dropped or never-started listener costs one interval, never a lost
 * decision). The waiter is registered BEFORE the row is read, so a change that lands between
 * the read and the wait still wakes it (and the first read waits until the LISTEN is active). At expiry (by the database clock) the waiter itself
 * marks the row expired — a crashed waiter leaves it pending, and the next reader expires it.
 */
import { EscalationError } from '../errors/index.js';
import type { Store } from '../store/types.js';
import { type Escalation, expireEscalation, getEscalation } from './escalations.js';
import type { EscalationNotifier } from './notifier.js';

export const DEFAULT_POLL_MS = 1000;

export async function waitForEscalation(
  store: Store,
  notifier: EscalationNotifier | undefined,
  id: string,
  pollMs = DEFAULT_POLL_MS,
  /** Give up after this long and return the row as last read (possibly still pending). */
  maxWaitMs?: number,
): Promise<Escalation> {
  const deadline = maxWaitMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + Math.max(0, maxWaitMs);
  // One subscription for the whole wait (re-subscribing per round would restart the listener).
  let notified = false;
  let wake: () => void = () => {};
  const subscription = notifier?.subscribe(id, () => {
    notified = true;
    wake();
  });
  try {
    // The LISTEN must be active before the first read, or a decision committed in between
    // would wake nobody (and cost a whole poll interval).
    await subscription?.ready;
    for (;;) {
      notified = false; // set before the read: a change after this point wakes the wait below
      const row = await getEscalation(store, id);
      if (row === null) throw new EscalationError(id, 'not-found', 'no such escalation');
      if (row.status !== 'pending') return row;
      if (row.remainingMs <= 0) {
        try {
          const changed = await expireEscalation(store, id);
          if (changed !== null) return changed.escalation;
        } catch (err) {
          // Decided just before it expired: the next read returns that decision.
          if (!(err instanceof EscalationError && err.reason === 'conflict')) throw err;
          continue;
        }
      }
      if (notified) continue;
      const left = deadline - Date.now();
      if (left <= 0) return row;
      const due = Math.max(5, Math.min(pollMs, Math.ceil(row.remainingMs) + 5, left));
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, due);
      });
      clearTimeout(timer);
      wake = () => {};
    }
  } finally {
    subscription?.unsubscribe();
  }
}

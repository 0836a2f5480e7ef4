/** Shared by the policy tests: a sample policy and small readers. */
import type { Queryable } from '../../src/store/types.js';

export const PAYMENTS_POLICY = `
@id("small-payments")
@reason("small payments are fine")
permit(principal == Agent::"billing-agent", action == Action::"payments.initiate", resource)
  when { context.params.amount <= 100 };

@id("large-payments")
@escalate("payments over 100 need a human")
@hold("600")
permit(principal == Agent::"billing-agent", action == Action::"payments.initiate", resource)
  when { context.params.amount > 100 && context.params.amount < 1000 };

@id("quick-expiry")
@escalate("expires quickly")
@hold("1")
permit(principal == Agent::"billing-agent", action == Action::"payments.expiring", resource);

@id("no-crypto")
@reason("crypto recipients are forbidden")
forbid(principal, action == Action::"payments.initiate", resource)
  when { context.params.currency == "BTC" };

@id("tools")
permit(principal == Agent::"billing-agent", action in [Action::"tool.sync", Action::"tool.async", Action::"tool.throws"], resource);
`;

export async function decisionRows(q: Queryable, where = 'true', params: unknown[] = []) {
  return (
    await q.query<Record<string, unknown>>(
      `SELECT d.*, l.leaf_index, l.leaf_hash, l.leaf_kind FROM provably_decisions d
       LEFT JOIN provably_ledger_leaves l ON l.record_id = d.id WHERE ${where} ORDER BY d.created_at, d.decided_at`,
      params,
    )
  ).rows;
}

/** Polls `check` every 20 ms until it returns a value (bounded: 10 s). */
export async function until<T>(check: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

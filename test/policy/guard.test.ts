// guard() and session() in process, on both stores: the body runs only after ALLOW, inside a
// provably scope, and its outcome is an audit event; blocked bodies never run.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyBlockedError, PolicyInputError } from '../../src/errors/index.js';
import { ProvablyGateway } from '../../src/policy/index.js';
import { namedArguments, parameterNames } from '../../src/policy/param-names.js';
import { digestOf } from '../../src/policy/params.js';
import { activeScope } from '../../src/scope/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';
import { decisionRows, PAYMENTS_POLICY } from './helpers.js';

describe('parameterNames', () => {
  it('reads plain identifiers, else falls back to positions', () => {
    expect(parameterNames((amount: number, currency: string) => amount + currency)).toEqual([
      'amount',
      'currency',
    ]);
    expect(parameterNames(async (a: number) => a)).toEqual(['a']);
    expect(
      parameterNames(function pay(this: unknown, x: number, y = 2) {
        return x + y;
      }),
    ).toEqual(['x', 'y']);
    expect(parameterNames(({ a }: { a: number }) => a)).toBeUndefined();
    expect(parameterNames((...rest: number[]) => rest)).toBeUndefined();
    expect(parameterNames(Math.max)).toEqual([]);
    expect(namedArguments(undefined, [1, 'x'])).toEqual({ arg0: 1, arg1: 'x' });
    expect(namedArguments(['a'], [1, 2])).toEqual({ a: 1, arg1: 2 });
  });
});

describeEachBackend('guard and session', (backend) => {
  const store = useTestStore(backend);
  const org = 'guard-org';
  let gateway: ProvablyGateway;
  beforeAll(() => {
    gateway = new ProvablyGateway({
      agentId: 'billing-agent',
      policy: PAYMENTS_POLICY,
      store: store(),
      tenant: org,
      mode: 'enforce',
    });
  });
  afterAll(() => gateway?.close());

  it('sync function: runs inside a scope of this agent and action; outcome event with a result digest', async () => {
    let seen: ReturnType<typeof activeScope>;
    const add = gateway.guard('tool.sync', (a: number, b: number) => {
      seen = activeScope();
      return { sum: a + b };
    });
    await expect(add(2, 3)).resolves.toEqual({ sum: 5 });
    expect(seen).toMatchObject({ agentId: 'billing-agent', actionName: 'tool.sync' });
    await gateway.flush();
    const rows = await decisionRows(store(), "d.org_id = $1 AND d.action_name = 'tool.sync'", [org]);
    expect(rows.map((r) => r.event_type)).toEqual(['decision', 'outcome']);
    const [decision, outcome] = rows;
    expect(decision?.params).toEqual({ a: 2, b: 3 });
    expect(outcome).toMatchObject({ parent_id: decision?.id, decision: null, reason: 'completed' });
    expect(outcome?.outcome).toEqual({ status: 'ok', result_sha256: digestOf({ sum: 5 }) });
    // One trace: the decision and the body's scope span share it.
    expect(decision?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(seen?.traceId).toBe(decision?.trace_id);
    expect(outcome?.trace_id).toBe(decision?.trace_id);
    expect(typeof outcome?.duration_ms).toBe('number');
  });

  it('async function: awaited, its value returned', async () => {
    const slow = gateway.guard('tool.async', async (ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      return activeScope()?.actionName;
    });
    await expect(slow(10)).resolves.toBe('tool.async');
  });

  it('throwing function: the error reaches the caller unchanged and the outcome records it', async () => {
    const boom = new Error('payment provider down');
    const fails = gateway.guard('tool.throws', () => {
      throw boom;
    });
    await expect(fails()).rejects.toBe(boom);
    await gateway.flush();
    const rows = await decisionRows(store(), "d.org_id = $1 AND d.action_name = 'tool.throws'", [org]);
    expect(rows.at(-1)).toMatchObject({ event_type: 'outcome', reason: 'failed: payment provider down' });
    expect(rows.at(-1)?.outcome).toEqual({ status: 'error', error: 'payment provider down' });
  });

  it('a blocked body never runs and no outcome is recorded', async () => {
    let ran = 0;
    const pay = gateway.guard('payments.initiate', (amount: number, currency: string) => {
      ran++;
      return `${amount} ${currency}`;
    });
    await expect(pay(5, 'BTC')).rejects.toBeInstanceOf(PolicyBlockedError);
    await expect(pay(5, 'GBP')).resolves.toBe('5 GBP');
    expect(ran).toBe(1);
    await gateway.flush();
    const rows = await decisionRows(store(), "d.org_id = $1 AND d.action_name = 'payments.initiate'", [org]);
    expect(rows.map((r) => `${r.event_type}:${r.decision}`)).toEqual([
      'decision:BLOCK',
      'decision:ALLOW',
      'outcome:null',
    ]);
  });

  // PostgreSQL only: it needs a second connection to hold the head row.
  it.skipIf(backend.name !== 'postgres')(
    'the outcome is not awaited: guard returns while it cannot be written; flush() waits for it',
    async () => {
      const holder = new pg.Client({ connectionString: store().raw.url });
      await holder.connect();
      try {
        const tool = gateway.guard('tool.sync', async (marker: string) => {
          // The decision is committed (the body runs): now hold the org's head row, so no leaf
          // (the outcome's) can be appended until it is released.
          await holder.query('BEGIN');
          await holder.query('SELECT 1 FROM provably_ledger_heads WHERE org_id = $1 FOR UPDATE', [org]);
          return marker;
        });
        await expect(tool('held')).resolves.toBe('held');
        let flushed = false;
        const flushing = gateway.flush().then(() => {
          flushed = true;
        });
        // Wait (bounded) until the outcome's statement is blocked on that lock.
        let waiting = 0;
        for (let i = 0; i < 200 && waiting === 0; i++) {
          const r = await holder.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND query LIKE '%provably_decisions_append%'`,
          );
          waiting = Number(r.rows[0]?.n);
          if (waiting === 0) await new Promise((r) => setTimeout(r, 25));
        }
        expect(waiting).toBe(1);
        expect(flushed).toBe(false);
        const before = await decisionRows(store(), "d.org_id = $1 AND d.params->>'marker' = 'held'", [org]);
        expect(before.map((r) => r.event_type)).toEqual(['decision']);
        await holder.query('COMMIT');
        await flushing;
        const after = await decisionRows(store(), "d.org_id = $1 AND d.params->>'marker' = 'held'", [org]);
        expect(after.map((r) => r.event_type)).toEqual(['decision', 'outcome']);
      } finally {
        await holder.query('ROLLBACK').catch(() => {});
        await holder.end();
      }
    },
  );

  it('a result changed by its caller after guard returned: the outcome digests the value as returned', async () => {
    const value = { n: 1 };
    const tool = gateway.guard('tool.sync', (marker: string) => ({ ...value, marker }));
    const got = await tool('mutated');
    got.n = 2; // before the background outcome write could run
    await gateway.flush();
    const rows = await decisionRows(store(), "d.org_id = $1 AND d.params->>'marker' = 'mutated'", [org]);
    expect(rows.at(-1)?.outcome).toEqual({
      status: 'ok',
      result_sha256: digestOf({ n: 1, marker: 'mutated' }),
    });
  });

  it('arguments that are not JSON are refused before anything is decided or run', async () => {
    let ran = false;
    const f = gateway.guard('tool.sync', (_n: bigint) => {
      ran = true;
    });
    await expect(f(10n)).rejects.toBeInstanceOf(PolicyInputError);
    expect(ran).toBe(false);
  });

  it('session: ids, counts (blocked counted even when thrown), results, and context.session in policies', async () => {
    const g = new ProvablyGateway({
      agentId: 'billing-agent',
      store: store(),
      tenant: org,
      mode: 'enforce',
      policy: `@id("few-blocks") permit(principal, action == Action::"step", resource) when { context.session.blocked < 2 };
               forbid(principal, action == Action::"step", resource) when { context.params.bad == true };`,
    });
    try {
      const out = await g.session('sess_checkout', async (s) => {
        await s.execute('step', { bad: false });
        await s.execute('step', { bad: true }).catch(() => {});
        await s.execute('step', { bad: true }, { throwOnBlock: false });
        // Two blocks so far: the permit's condition now fails → default deny.
        const after = await s.execute('step', { bad: false }, { throwOnBlock: false });
        const inner = g.guard('step', (bad: boolean) => bad);
        await inner(false).catch(() => {});
        return { after, counts: [s.allowedCount, s.blockedCount, s.escalatedCount], n: s.results.length };
      });
      expect(out.after.decision).toBe('BLOCK');
      expect(out.counts).toEqual([1, 4, 0]);
      expect(out.n).toBe(5);
      const rows = await decisionRows(store(), "d.org_id = $1 AND d.action_name = 'step'", [org]);
      expect(rows.every((r) => r.session_id === 'sess_checkout')).toBe(true);
    } finally {
      await g.close();
    }
  });

  it('log-only: the decision is recorded as computed, the call proceeds', async () => {
    const g = new ProvablyGateway({
      agentId: 'billing-agent',
      store: store(),
      tenant: org,
      policy: 'forbid(principal, action, resource);',
      mode: 'log_only',
    });
    try {
      let ran = false;
      const f = g.guard('shadowed.tool', () => {
        ran = true;
        return 1;
      });
      await expect(f()).resolves.toBe(1);
      expect(ran).toBe(true);
      const r = await g.execute('shadowed.tool', {});
      expect(r).toMatchObject({ decision: 'ALLOW', shadowDecision: 'BLOCK' });
      const [row] = await decisionRows(store(), 'd.id = $1', [r.eventId]);
      expect(row).toMatchObject({ decision: 'BLOCK', mode: 'log_only' });
    } finally {
      await g.close();
    }
  });
});

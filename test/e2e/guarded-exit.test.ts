/**
 * What a guarded call leaves when its agent ends right after it (README, "Guarded calls and
 * process exit"). A guarded call returns once its body has; its DECISION was committed before
 * the body ran, its OUTCOME event is written in the background. Real agents with the preload,
 * real stores:
 * - process.exit(0) at once: the decision row and its leaf are there, the outcome is NOT (the
 *   documented residual limit, pinned here);
 * - gateway.close() first: the outcome is there too;
 * - SIGTERM at once: the outcome is written before the process goes, and it still dies by
 *   SIGTERM — also when a governed fetch in the body loaded the intercept pipeline, whose own
 *   flush shares the one signal listener (two listeners would each leave the exit to the other).
 */
import { expect, it } from 'vitest';
import type { InterceptRecord } from '../../src/record/index.js';
import { type AgentRun, runAgent, useAgentServers } from './child.js';
import { describeE2E, type E2EStore, useE2EStores } from './stores.js';

const servers = useAgentServers();

interface Event {
  event_type: string;
  parent_id: string | null;
  reason: string;
  leaf_index: string | null;
}

async function events(store: E2EStore): Promise<Event[]> {
  return store.withStore(async (db) => {
    const res = await db.query<Event>(
      `SELECT d.event_type, d.parent_id, d.reason, l.leaf_index::text AS leaf_index
       FROM provably_decisions d LEFT JOIN provably_ledger_leaves l ON l.record_id = d.id
       WHERE d.org_id = $1 ORDER BY d.created_at, d.event_type`,
      [store.orgId],
    );
    return res.rows;
  });
}

function ran(run: AgentRun<{ value: number }>): void {
  expect(run.result?.value, run.stderr).toBe(42);
}

describeE2E('a guarded call right before the agent exits', (backend) => {
  const stores = useE2EStores(backend);

  it('process.exit(0) at once: the decision and its leaf are durable; the outcome event is lost', async () => {
    const store = await stores.fresh();
    const run = await runAgent<{ value: number }>('guarded-exit.mjs', { env: store.env(), args: ['exit'] });
    ran(run);
    expect(run.code).toBe(0);
    const rows = await events(store);
    expect(rows.map((r) => r.event_type)).toEqual(['decision']);
    expect(rows[0]?.leaf_index).toBe('0');
  });

  it('close() first: the outcome event is there too, with its leaf', async () => {
    const store = await stores.fresh();
    const run = await runAgent<{ value: number }>('guarded-exit.mjs', { env: store.env(), args: ['close'] });
    ran(run);
    const rows = await events(store);
    expect(rows.map((r) => r.event_type)).toEqual(['decision', 'outcome']);
    expect(rows[1]).toMatchObject({ reason: 'completed' });
    expect(rows.map((r) => r.leaf_index).sort()).toEqual(['0', '1']);
  });

  for (const withFetch of [false, true]) {
    it(`SIGTERM at once${withFetch ? ', after a governed fetch in the body' : ''}: the outcome is flushed, and the agent still dies by SIGTERM`, async () => {
      const store = await stores.fresh();
      const extra: Record<string, string> = {};
      if (withFetch) {
        await store.trust(`${servers.trusted.url}/json`);
        extra.TRUSTED = servers.trusted.url;
      }
      const run = await runAgent<{ value: number }>('guarded-exit.mjs', {
        env: store.env(extra),
        args: ['sigterm'],
        allowFailure: true,
      });
      ran(run);
      expect(run.signal, run.stderr).toBe('SIGTERM');
      const rows = await events(store);
      expect(rows.map((r) => r.event_type)).toEqual(['decision', 'outcome']);
      expect(rows.every((r) => r.leaf_index !== null)).toBe(true);
      if (withFetch) {
        const calls: InterceptRecord[] = await store.rows();
        expect(calls.map((c) => c.status)).toEqual([200]);
      }
    });
  }
});

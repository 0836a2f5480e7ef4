/**
 * Concurrent appenders get gap-free, unique indexes: parallel transactions on one store (on
 * PostgreSQL they run on separate pooled connections), and, on PostgreSQL, separate processes.
 */
import { expect, it } from 'vitest';
import {
  appendLeaves,
  generateSigningKeyPem,
  issueCheckpoint,
  signerFromPem,
  trustedKeysOf,
  verifyLog,
} from '../../src/ledger/index.js';
import type { Queryable } from '../../src/store/types.js';
import { describeEachBackend, srcModule, startSourceChild, useTestStore } from '../helpers/backends.js';
import { insertRecords } from './fixtures.js';

const signer = signerFromPem(generateSigningKeyPem());

async function leafRows(q: Queryable, org: string) {
  const result = await q.query<{ leaf_index: number; record_id: string }>(
    'SELECT leaf_index, record_id FROM provably_ledger_leaves WHERE org_id = $1 ORDER BY leaf_index',
    [org],
  );
  return result.rows;
}

function expectGapFree(rows: { leaf_index: number; record_id: string }[], n: number): void {
  expect(rows.map((r) => r.leaf_index)).toEqual(Array.from({ length: n }, (_, i) => i));
  expect(new Set(rows.map((r) => r.record_id)).size).toBe(n);
}

describeEachBackend('ledger concurrency', (backend) => {
  const store = useTestStore(backend);

  it('4 parallel transactions × 50 leaves, repeated: indexes 0..N-1, each batch contiguous', async () => {
    const org = 'conc-tx';
    const batches: string[][] = [];
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, w) =>
          store().transaction(async (tx) => {
            const ids = await insertRecords(tx, org, 50, round * 10 + w + 1);
            // Give the other transactions time to queue on the org's lock.
            await tx.query('SELECT pg_sleep(0.01)');
            const appended = await appendLeaves(tx, org, ids);
            batches.push(ids);
            return appended;
          }),
        ),
      );
      for (const r of results) {
        const idx = r.leaves.map((l) => l.leafIndex);
        expect(idx).toEqual(Array.from({ length: 50 }, (_, i) => (idx[0] as number) + i));
      }
    }
    const rows = await leafRows(store(), org);
    expectGapFree(rows, 600);
    expect(new Set(rows.map((r) => r.record_id))).toEqual(new Set(batches.flat()));
    await issueCheckpoint(store(), org, signer);
    expect(await verifyLog(store(), org, { trustedKeys: trustedKeysOf(signer) })).toMatchObject({
      ok: true,
      treeSize: 600,
    });
  });

  it('appenders racing a checkpoint issuer: every checkpoint is a prefix of the final log', async () => {
    const org = 'conc-cp';
    await Promise.all([
      ...Array.from({ length: 4 }, (_, w) =>
        (async () => {
          for (let i = 0; i < 5; i++) {
            await store().transaction(async (tx) =>
              appendLeaves(tx, org, await insertRecords(tx, org, 10, w * 100 + i)),
            );
          }
        })(),
      ),
      (async () => {
        for (let i = 0; i < 6; i++) await issueCheckpoint(store(), org, signer);
      })(),
    ]);
    await issueCheckpoint(store(), org, signer);
    expectGapFree(await leafRows(store(), org), 200);
    const report = await verifyLog(store(), org, { trustedKeys: trustedKeysOf(signer) });
    expect(report).toMatchObject({ ok: true, treeSize: 200, checkpoints: 7, verifiedCheckpoints: 7 });
  });

  if (backend.name === 'postgres') {
    it('two processes appending at once: indexes 0..N-1 with no gaps or duplicates', async () => {
      const org = 'conc-proc';
      const url = store().raw.url as string;
      const code = (seed: number) => `
        const { openStore } = await import(${JSON.stringify(srcModule('store/index.js'))});
        const { appendLeaves } = await import(${JSON.stringify(srcModule('ledger/index.js'))});
        const { randomUUID } = await import('node:crypto');
        const store = openStore({ backend: 'postgres', databaseUrl: process.env.DB_URL, poolSize: 3, autoMigrate: false, env: {} });
        await new Promise((r) => setTimeout(r, Math.max(0, Number(process.env.START_AT) - Date.now())));
        const work = [];
        for (let w = 0; w < 3; w++) {
          work.push((async () => {
            for (let b = 0; b < 10; b++) {
              await store.transaction(async (tx) => {
                const ids = Array.from({ length: 7 }, () => randomUUID());
                await tx.query(
                  "INSERT INTO provably_intercepts (id, org_id, agent_id, action_name, method, url, started_at) " +
                  "SELECT id::uuid, '${org}', 'child-${seed}', 'act', 'GET', 'https://e.test/' || id, date_trunc('milliseconds', now()) FROM unnest($1::text[]) AS id",
                  [ids],
                );
                await appendLeaves(tx, '${org}', ids);
              });
            }
          })());
        }
        await Promise.all(work);
        await store.close();
        console.log('DONE');`;
      const startAt = String(Date.now() + 1500);
      const children = [1, 2].map((seed) =>
        startSourceChild(code(seed), { env: { DB_URL: url, START_AT: startAt } }),
      );
      const results = await Promise.all(children.map((c) => c.exited));
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      const rows = await leafRows(store(), org);
      expectGapFree(rows, 2 * 3 * 10 * 7);
      // Both processes really interleaved.
      const owners = await store().query<{ agent_id: string }>(
        `SELECT i.agent_id FROM provably_ledger_leaves l JOIN provably_intercepts i ON i.id = l.record_id
         WHERE l.org_id = $1 ORDER BY l.leaf_index`,
        [org],
      );
      const switches = owners.rows.filter(
        (r, i) => i > 0 && r.agent_id !== owners.rows[i - 1]?.agent_id,
      ).length;
      expect(switches).toBeGreaterThan(1);
      await issueCheckpoint(store(), org, signer);
      expect(await verifyLog(store(), org, { trustedKeys: trustedKeysOf(signer) })).toMatchObject({
        ok: true,
        treeSize: 420,
      });
    });

    it('two processes recording through the one-statement batches, plus appendLeaves: one gap-free log', async () => {
      const orgs = ['conc-batch-a', 'conc-batch-b'];
      const url = store().raw.url as string;
      const code = (seed: number) => `
        const { openStore } = await import(${JSON.stringify(srcModule('store/index.js'))});
        const { appendInStatement, appendLeaves } = await import(${JSON.stringify(srcModule('ledger/index.js'))});
        const { createRecorder } = await import(${JSON.stringify(srcModule('record/index.js'))});
        const { randomUUID } = await import('node:crypto');
        const store = openStore({ backend: 'postgres', databaseUrl: process.env.DB_URL, poolSize: 4, autoMigrate: false, env: {} });
        const rec = createRecorder({ store: () => store, env: {}, extendInsert: (i) => appendInStatement(i), batch: { maxConcurrent: 3 } });
        await new Promise((r) => setTimeout(r, Math.max(0, Number(process.env.START_AT) - Date.now())));
        const calls = [];
        for (let i = 0; i < 150; i++) {
          const org = ${JSON.stringify(orgs)}[i % 2];
          const call = rec.start({ orgId: org, agentId: 'child-${seed}', actionName: 'act', interceptIndex: i, traceId: null, spanId: null },
            { method: 'GET', url: 'https://e.test/' + i, headers: {}, startedAt: new Date() });
          call.response(200, {});
          calls.push(call.finish());
          if (i % 10 === 9) {
            // Now and then a transaction through the general API, for either org.
            const apiOrg = ${JSON.stringify(orgs)}[Math.floor(i / 10) % 2];
            calls.push(store.transaction(async (tx) => {
              const id = randomUUID();
              await tx.query(
                "INSERT INTO provably_intercepts (id, org_id, agent_id, action_name, method, url, started_at) " +
                "VALUES ($1, $2, 'child-${seed}', 'api', 'GET', 'https://e.test/api', date_trunc('milliseconds', now()))",
                [id, apiOrg],
              );
              await appendLeaves(tx, apiOrg, [id]);
            }));
          }
          if (i % 25 === 0) await new Promise((r) => setImmediate(r));
        }
        await Promise.all(calls);
        await rec.close();
        if (rec.stats().storeErrors !== 0) throw new Error('store errors: ' + JSON.stringify(rec.stats()));
        await store.close();
        console.log('DONE');`;
      const startAt = String(Date.now() + 1500);
      const children = [1, 2].map((seed) =>
        startSourceChild(code(seed), { env: { DB_URL: url, START_AT: startAt } }),
      );
      const results = await Promise.all(children.map((c) => c.exited));
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      for (const org of orgs) {
        const rows = await leafRows(store(), org);
        // 75 recorded calls per process and org, and 8 (org a) or 7 (org b) general appends.
        const n = 2 * (75 + (org === orgs[0] ? 8 : 7));
        expectGapFree(rows, n);
        await issueCheckpoint(store(), org, signer);
        expect(await verifyLog(store(), org, { trustedKeys: trustedKeysOf(signer) })).toMatchObject({
          ok: true,
          treeSize: n,
          unloggedRecords: 0,
        });
      }
    });
  }
});

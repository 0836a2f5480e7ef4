/**
 * The recorder's one-statement batches (appendInStatement): rows and leaves in one round trip,
 * each leaf proven to be built from the row as stored, indexes claimed on the org's head row;
 * and what happens when the head is out of step with the leaves.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { ProvablyStoreError } from '../../src/errors/index.js';
import {
  appendInStatement,
  appendLeaves,
  appendRowsAndLeaves,
  generateSigningKeyPem,
  issueCheckpoint,
  ProvablyLedgerIntegrityError,
  signerFromPem,
  trustedKeysOf,
  verifyLog,
} from '../../src/ledger/index.js';
import { createRecorder, type RecordedRow } from '../../src/record/index.js';
import type { Queryable } from '../../src/store/types.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';
import { insertRecords, installTamper, lit, tamper } from './fixtures.js';

const signer = signerFromPem(generateSigningKeyPem());
const trustedKeys = trustedKeysOf(signer);

function recorder(store: () => Queryable & { backend: 'pglite' | 'postgres' }, extra = {}) {
  return createRecorder({
    store: store as never,
    env: {},
    extendInsert: (insert) => appendInStatement(insert),
    ...extra,
  });
}

async function record(rec: ReturnType<typeof createRecorder>, orgId: string, i: number): Promise<string> {
  const call = rec.start(
    { orgId, agentId: 'a', actionName: 'act', interceptIndex: i, traceId: null, spanId: null },
    {
      method: 'POST',
      url: `https://api.test/x/${i}?q=é😀`,
      headers: { 'x-n': String(i) },
      startedAt: new Date(),
    },
  );
  call.response(200, { 'content-type': 'application/json', 'set-cookie': ['a', 'b'] });
  call.chunk(Buffer.from(`{"n":${i}}`));
  await call.finish();
  return call.id;
}

async function leafIndexes(q: Queryable, org: string): Promise<number[]> {
  const r = await q.query<{ leaf_index: string | number }>(
    'SELECT leaf_index FROM provably_ledger_leaves WHERE org_id = $1 ORDER BY leaf_index',
    [org],
  );
  return r.rows.map((x) => Number(x.leaf_index));
}

async function head(q: Queryable, org: string): Promise<number | null> {
  const r = await q.query<{ next_index: string | number }>(
    'SELECT next_index FROM provably_ledger_heads WHERE org_id = $1',
    [org],
  );
  return r.rows[0] ? Number(r.rows[0].next_index) : null;
}

/** A RecordedRow and its INSERT, written by hand (what the recorder would send). */
function handInsert(orgId: string, startedAtParam: unknown = undefined) {
  const row: RecordedRow = {
    id: randomUUID(),
    orgId,
    agentId: 'a',
    actionName: 'act',
    interceptIndex: 1,
    traceId: null,
    spanId: null,
    method: 'GET',
    url: 'https://api.test/a',
    status: 200,
    requestHeaders: { accept: '*/*' },
    responseHeaders: null,
    contentEncoding: null,
    bodySha256: null,
    bodySize: 0,
    bodyTruncated: false,
    error: null,
    startedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, 0, 5)),
    durationMs: 1.25,
    leafVersion: 2,
    peer: {
      address: '127.0.0.1',
      port: 443,
      protocol: 'http/1.1',
      tls: { certSha256: 'ab'.repeat(32), subject: 'CN=api.test', subjectAltName: 'DNS:api.test' },
      proxy: null,
    },
  };
  const sql = `INSERT INTO provably_intercepts (id, org_id, agent_id, action_name, intercept_index, method, url,
    status, request_headers, body_size, body_truncated, started_at, duration_ms, leaf_version, peer_address,
    peer_port, peer_protocol, peer_tls_cert_sha256, peer_tls_subject, peer_tls_subject_alt_name)
    VALUES ($1, $2, 'a', 'act', 1, 'GET', $3, 200, $4::text::jsonb, 0, false, $5, 1.25, 2, '127.0.0.1',
      443, 'http/1.1', '${'ab'.repeat(32)}', 'CN=api.test', 'DNS:api.test')`;
  const params = [
    row.id,
    orgId,
    row.url,
    JSON.stringify(row.requestHeaders),
    startedAtParam ?? row.startedAt,
  ];
  return { row, insert: { sql, params, rows: [row] } };
}

describeEachBackend('ledger batch statement', (backend) => {
  const store = useTestStore(backend);

  it('writes the rows and their leaves in one statement, gap-free across orgs, and verifies', async () => {
    const rec = recorder(store);
    const ids: string[] = [];
    // Concurrent finishes: several rows (and two orgs) per batch.
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) =>
        ids.push(await record(rec, i % 3 === 0 ? 'b-two' : 'b-one', i)),
      ),
    );
    expect(rec.stats()).toMatchObject({ recorded: 40, storeErrors: 0 });
    expect(rec.stats().largestBatch).toBeGreaterThan(1);
    expect(await leafIndexes(store(), 'b-one')).toEqual(Array.from({ length: 26 }, (_, i) => i));
    expect(await leafIndexes(store(), 'b-two')).toEqual(Array.from({ length: 14 }, (_, i) => i));
    expect(await head(store(), 'b-one')).toBe(26);
    for (const org of ['b-one', 'b-two']) {
      await issueCheckpoint(store(), org, signer);
      const report = await verifyLog(store(), org, { trustedKeys });
      expect(report, JSON.stringify(report.firstBroken)).toMatchObject({ ok: true, unloggedRecords: 0 });
    }
  });

  it('stores awkward content exactly as its leaf says: no row is refused, and the log verifies', async () => {
    const org = 'b-awkward';
    const rec = recorder(store);
    const awkward = [
      { url: 'https://api.test/p%20q/%E2%82%AC?x=%00&y="q"\\', header: 'é 😀 "quoted" \\ back' },
      { url: 'https://[::1]:8443/ünï/😀?a=1&a=2#frag', header: '\u2028 line sep \t tab' },
      { url: 'https://api.test/', header: '   padded' },
    ];
    const ids: string[] = [];
    await Promise.all(
      awkward.map(async ({ url, header }, i) => {
        const call = rec.start(
          {
            orgId: org,
            agentId: 'ägent "x"',
            actionName: 'act\n2',
            interceptIndex: i === 1 ? null : 2 ** 31 - 1,
            traceId: 'a'.repeat(32),
            spanId: 'b'.repeat(16),
          },
          {
            method: 'PATCH',
            url,
            headers: { 'x-ünicode': header, 'x-empty': '' },
            startedAt: new Date(Date.UTC(2025, 5, 30, 23, 59, 59, 999)),
          },
        );
        ids.push(call.id);
        if (i === 2) {
          await call.fail(new Error('socket hang up: "quoted" \\ and\nnewline — ✗'));
          return;
        }
        call.response(i === 0 ? 599 : 100, {
          'content-encoding': 'gzip, br',
          'x-num': '1e400',
          'x-long': 'v'.repeat(5000),
        });
        call.chunk(Buffer.from([0, 255, 1, 254]));
        await call.finish();
      }),
    );
    expect(rec.stats()).toMatchObject({ recorded: 3, storeErrors: 0, dropped: 0 });
    expect(await leafIndexes(store(), org)).toEqual([0, 1, 2]);
    await issueCheckpoint(store(), org, signer);
    const report = await verifyLog(store(), org, { trustedKeys });
    expect(report, JSON.stringify(report.firstBroken)).toMatchObject({ ok: true, unloggedRecords: 0 });
  });

  it('refuses (PVL01) a batch whose stored row is not the row its leaf was built from: nothing is written', async () => {
    const org = 'b-refuse';
    // The caller's copy says .005 s; the row as stored has sub-millisecond digits.
    const { row, insert } = handInsert(org, '2025-01-01T00:00:00.0055Z');
    const err = await appendRowsAndLeaves(store(), insert).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvablyStoreError);
    expect((err as { cause?: { code?: string } }).cause?.code).toBe('PVL01');
    // A copy that differs in a text column is refused too.
    const other = handInsert(org);
    const err2 = await appendRowsAndLeaves(store(), {
      ...other.insert,
      rows: [{ ...other.row, url: `${other.row.url}/` }],
    }).catch((e: unknown) => e);
    expect((err2 as Error).message).toContain('is not the row its leaf was built from');
    // Who answered is checked like every other column: a copy naming another peer, another
    // certificate or a proxy the row does not hold, or a version the row does not have.
    const peer = other.row.peer as NonNullable<RecordedRow['peer']>;
    const tls = peer.tls as NonNullable<typeof peer.tls>;
    for (const copy of [
      { peer: { ...peer, address: '10.0.0.9' } },
      { peer: { ...peer, port: 8443 } },
      { peer: { ...peer, protocol: 'h2' } },
      { peer: { ...peer, tls: { ...tls, certSha256: 'cd'.repeat(32) } } },
      { peer: { ...peer, tls: { ...tls, subject: 'CN=evil.test' } } },
      { peer: { ...peer, tls: { ...tls, subjectAltName: null } } },
      { peer: { ...peer, tls: null } },
      { peer: { ...peer, proxy: 'http://127.0.0.1:3128' } },
      { peer: null },
      { leafVersion: 1 as const, peer: null },
    ]) {
      const again = handInsert(org);
      const refused = await appendRowsAndLeaves(store(), {
        ...again.insert,
        rows: [{ ...again.row, ...copy }],
      }).catch((e: unknown) => e);
      expect((refused as { cause?: { code?: string } }).cause?.code, JSON.stringify(copy)).toBe('PVL01');
    }
    const rows = await store().query('SELECT id FROM provably_intercepts WHERE org_id = $1', [org]);
    expect(rows.rows).toEqual([]);
    expect(await head(store(), org)).toBeNull();
    // The same statement with the true row goes through at index 0: no gap was left.
    const ok = handInsert(org);
    await appendRowsAndLeaves(store(), ok.insert);
    expect(await leafIndexes(store(), org)).toEqual([0]);
    expect(row.id).not.toBe(ok.row.id);
    expect((await verifyLog(store(), org, { trustedKeys })).ok).toBe(true);
  });

  it('a refused row does not take its batch neighbours down (the recorder retries them alone)', async () => {
    const org = 'b-neighbours';
    let poisoned = false;
    const rec = recorder(store, {
      batch: { maxConcurrent: 1 },
      extendInsert: (insert: Parameters<typeof appendInStatement>[0]) => {
        // Poison the first batch of several rows: its first row's copy differs from the INSERT.
        if (!poisoned && insert.rows.length > 1) {
          poisoned = true;
          const [first, ...rest] = insert.rows;
          return appendInStatement({
            ...insert,
            rows: [{ ...(first as RecordedRow), method: 'PUT' }, ...rest],
          });
        }
        return appendInStatement(insert);
      },
    });
    await Promise.all(Array.from({ length: 12 }, (_, i) => record(rec, org, i)));
    expect(poisoned).toBe(true);
    expect(rec.stats()).toMatchObject({ recorded: 12, rejected: 0 });
    expect(await leafIndexes(store(), org)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('a head behind the leaves is caught up; a head ahead of them is refused at checkpoint', async () => {
    await installTamper(store().raw);
    const org = 'b-head';
    const rec = recorder(store);
    for (let i = 0; i < 3; i++) await record(rec, org, i);
    // Another writer appended without moving the head (e.g. an older version of provably).
    const ids = await insertRecords(store(), org, 2, 7);
    await tamper(store().raw, [`UPDATE provably_ledger_heads SET next_index = 1 WHERE org_id = ${lit(org)}`]);
    // appendLeaves and the batch statement both start past the last leaf.
    await appendLeaves(store(), org, ids.slice(0, 1));
    await tamper(store().raw, [`UPDATE provably_ledger_heads SET next_index = 2 WHERE org_id = ${lit(org)}`]);
    await appendLeaves(store(), org, ids.slice(1));
    await tamper(store().raw, [`DELETE FROM provably_ledger_heads WHERE org_id = ${lit(org)}`]);
    await record(rec, org, 9);
    expect(await leafIndexes(store(), org)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await head(store(), org)).toBe(6);
    await issueCheckpoint(store(), org, signer);
    expect((await verifyLog(store(), org, { trustedKeys })).ok).toBe(true);

    // A head moved forward by hand would leave a gap: checkpoints refuse it.
    await store().query('UPDATE provably_ledger_heads SET next_index = 9 WHERE org_id = $1', [org]);
    const err = await issueCheckpoint(store(), org, signer).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvablyLedgerIntegrityError);
    expect((err as Error).message).toContain('leaves are missing');
  });

  it('the head only moves forward: decrease, DELETE and TRUNCATE are refused', async () => {
    const org = 'b-forward';
    await record(recorder(store), org, 0);
    for (const sql of [
      `UPDATE provably_ledger_heads SET next_index = 0 WHERE org_id = ${lit(org)}`,
      `UPDATE provably_ledger_heads SET org_id = 'other' WHERE org_id = ${lit(org)}`,
      `DELETE FROM provably_ledger_heads WHERE org_id = ${lit(org)}`,
      'TRUNCATE provably_ledger_heads',
    ]) {
      const err = await store()
        .query(sql)
        .catch((e: unknown) => e);
      expect(err, sql).toBeInstanceOf(ProvablyStoreError);
      expect((err as ProvablyStoreError).reason, sql).toBe('append-only');
    }
    expect(await head(store(), org)).toBe(1);
  });

  it('concurrent recorders (several connections on PostgreSQL) share one gap-free log per org', async () => {
    const recs = Array.from({ length: 3 }, () => recorder(store, { batch: { maxConcurrent: 2 } }));
    await Promise.all(
      recs.flatMap((rec, r) =>
        Array.from({ length: 30 }, (_, i) => record(rec, i % 2 === 0 ? 'b-conc-a' : 'b-conc-b', r * 100 + i)),
      ),
    );
    expect(await leafIndexes(store(), 'b-conc-a')).toEqual(Array.from({ length: 45 }, (_, i) => i));
    expect(await leafIndexes(store(), 'b-conc-b')).toEqual(Array.from({ length: 45 }, (_, i) => i));
    for (const org of ['b-conc-a', 'b-conc-b']) {
      await issueCheckpoint(store(), org, signer);
      expect((await verifyLog(store(), org, { trustedKeys })).ok).toBe(true);
    }
  });
});

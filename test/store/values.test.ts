// Every column type of provably_intercepts survives a round trip, normalized the same way on
// both backends (bytea → Uint8Array, jsonb parsed, timestamptz Date, int8 number).
import { expect, it } from 'vitest';
import { ProvablyStoreError } from '../../src/errors/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';

const INSERT = `INSERT INTO provably_intercepts (
  org_id, agent_id, action_name, intercept_index, trace_id, span_id, method, url, status,
  request_headers, response_headers, response_body, content_encoding, body_sha256, body_size,
  body_truncated, error, started_at, duration_ms
) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19) RETURNING *`;

// Every byte value, plus NUL runs and sequences that are not valid UTF-8.
const BODY = new Uint8Array([
  0x00,
  0x00,
  0xc3,
  0x28,
  0xff,
  0xfe,
  0xed,
  0xa0,
  0x80,
  ...Array.from({ length: 256 }, (_, i) => i),
]);

describeEachBackend('store values', (backend) => {
  const store = useTestStore(backend);

  it('round-trips every column of provably_intercepts', async () => {
    const startedAt = new Date('2026-03-04T05:06:07.891Z');
    const params = [
      'org-ü',
      'agent-1',
      'book flight',
      7,
      'trace-abc',
      'span-def',
      'POST',
      'https://api.example.com/v1/x?q=1',
      201,
      { 'content-type': 'application/json', 'x-multi': ['a', 'b'] },
      { nested: { list: [1, 'two', null, true], emoji: '🛫' } },
      BODY,
      'gzip',
      'f'.repeat(64),
      2 ** 40 + 5,
      true,
      'partial: ✓ "quoted" \\ back',
      startedAt,
      12.345,
    ];
    const inserted = await store().query(INSERT, params);
    expect(inserted.rowCount).toBe(1);
    const id = inserted.rows[0]?.id;
    const { rows } = await store().query('SELECT * FROM provably_intercepts WHERE id = $1', [id]);
    const row = rows[0] as Record<string, unknown>;
    expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(row).toMatchObject({
      org_id: 'org-ü',
      agent_id: 'agent-1',
      action_name: 'book flight',
      intercept_index: 7,
      trace_id: 'trace-abc',
      span_id: 'span-def',
      method: 'POST',
      url: 'https://api.example.com/v1/x?q=1',
      status: 201,
      request_headers: { 'content-type': 'application/json', 'x-multi': ['a', 'b'] },
      response_headers: { nested: { list: [1, 'two', null, true], emoji: '🛫' } },
      content_encoding: 'gzip',
      body_sha256: 'f'.repeat(64),
      body_size: 2 ** 40 + 5,
      body_truncated: true,
      error: 'partial: ✓ "quoted" \\ back',
      duration_ms: 12.345,
    });
    expect(row.response_body).toBeInstanceOf(Uint8Array);
    expect(Array.from(row.response_body as Uint8Array)).toEqual(Array.from(BODY));
    expect(row.started_at).toBeInstanceOf(Date);
    expect((row.started_at as Date).toISOString()).toBe(startedAt.toISOString());
    expect(row.created_at).toBeInstanceOf(Date);
    expect(Math.abs((row.created_at as Date).getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('keeps NULLs, defaults and an empty body', async () => {
    const { rows } = await store().query(
      `INSERT INTO provably_intercepts (org_id, agent_id, action_name, method, url, response_body, started_at)
       VALUES ('o', 'a', 'x', 'GET', 'https://e.test/', $1, now()) RETURNING *`,
      [new Uint8Array()],
    );
    const row = rows[0] as Record<string, unknown>;
    expect(row).toMatchObject({
      intercept_index: null,
      status: null,
      response_headers: null,
      request_headers: {},
      body_size: 0,
      body_truncated: false,
      error: null,
      duration_ms: null,
    });
    expect(Array.from(row.response_body as Uint8Array)).toEqual([]);
  });

  it('returns int8 as number and refuses values past the safe range', async () => {
    const max = Number.MAX_SAFE_INTEGER;
    const ok = await store().query(
      `SELECT ${max}::int8 AS hi, ${-max}::int8 AS lo, '{1,NULL,3}'::int8[] AS arr`,
    );
    expect(ok.rows[0]).toEqual({ hi: max, lo: -max, arr: [1, null, 3] });
    const err = await store()
      .query('SELECT 9007199254740993::int8 AS x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvablyStoreError);
    expect(err).toMatchObject({ reason: 'query' });
    expect((err as Error).message).toContain('9007199254740993');
    // Exact values stay readable as text.
    const text = await store().query('SELECT 9007199254740993::int8::text AS x');
    expect(text.rows[0]).toEqual({ x: '9007199254740993' });
  });

  it('takes jsonb arrays as JSON text and timestamps as Date or ISO text', async () => {
    const { rows } = await store().query(
      'SELECT $1::jsonb AS j, $2::timestamptz AS a, $3::timestamptz AS b',
      [JSON.stringify([1, { two: 2 }]), new Date(0), '2026-01-02T03:04:05.678Z'],
    );
    expect(rows[0]).toEqual({ j: [1, { two: 2 }], a: new Date(0), b: new Date('2026-01-02T03:04:05.678Z') });
  });

  it('reports rows affected and runs multi-statement scripts without parameters', async () => {
    // A plain table: a pool may run each statement on a different connection.
    await store().query('CREATE TABLE t_counts (n int)');
    const ins = await store().query('INSERT INTO t_counts SELECT generate_series(1, 3)');
    expect(ins.rowCount).toBe(3);
    const upd = await store().query('UPDATE t_counts SET n = n + 1 WHERE n > 1');
    expect(upd.rowCount).toBe(2);
    const sel = await store().query<{ n: number }>('SELECT n FROM t_counts ORDER BY n');
    expect(sel.rowCount).toBe(3);
    expect(sel.rows.map((r) => r.n)).toEqual([1, 3, 4]);
    const script = await store().query('SELECT 1 AS a; SELECT 2 AS b');
    expect(script.rows).toEqual([{ b: 2 }]);
    await store().query('DROP TABLE t_counts');
  });
});

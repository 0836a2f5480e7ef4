/**
 * A recorded body is the LAST parameter of the statement that writes it (the one-statement
 * append included): pg serializes parameters into one growing buffer, and parameters written
 * after a MiB-sized body make it copy the body into a buffer 1.5× its size.
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { appendInStatement } from '../../src/ledger/index.js';
import { createRecorder } from '../../src/record/index.js';
import { COLUMNS } from '../../src/record/row.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';

it('the INSERT writes response_body as the last column of each row', () => {
  expect(COLUMNS.at(-1)).toBe('response_body');
  expect(new Set(COLUMNS).size).toBe(COLUMNS.length);
});

describeEachBackend('a batch statement ends with its last body', (backend) => {
  const store = useTestStore(backend);

  it('sends the body last, writes it whole, and logs the row', async () => {
    const sent: unknown[][] = [];
    const rec = createRecorder({
      // The real store, its statements seen on their way through.
      store: () => {
        const s = store();
        return new Proxy(s, {
          get(target, key) {
            if (key !== 'query') {
              const v = Reflect.get(target, key);
              return typeof v === 'function' ? v.bind(target) : v;
            }
            return (sql: string, params?: unknown[]) => {
              if (params) sent.push(params);
              return target.query(sql, params);
            };
          },
        });
      },
      env: {},
      extendInsert: (insert) => appendInStatement(insert),
    });
    const body = randomBytes(256 * 1024);
    const call = rec.start(
      { orgId: 'row-last', agentId: 'a', actionName: 'act', interceptIndex: 0, traceId: null, spanId: null },
      { method: 'GET', url: 'https://api.test/big', headers: { accept: '*/*' }, startedAt: new Date() },
    );
    call.response(200, { 'content-type': 'application/octet-stream' });
    call.chunk(body);
    await call.finish();

    expect(sent).toHaveLength(1);
    const last = sent[0]?.at(-1);
    if (backend.name === 'pglite') expect(last).toBe(body.toString('base64'));
    else expect(Buffer.compare(last as Buffer, body)).toBe(0);

    const r = await store().query<{ response_body: Uint8Array; leaves: string | number }>(
      `SELECT response_body, (SELECT count(*) FROM provably_ledger_leaves l WHERE l.record_id = i.id) AS leaves
         FROM provably_intercepts i WHERE id = $1`,
      [call.id],
    );
    expect(Buffer.compare(Buffer.from(r.rows[0]?.response_body ?? []), body)).toBe(0);
    expect(Number(r.rows[0]?.leaves)).toBe(1);
  });
});

/**
 * provably's own store traffic is never refused by the connection guard: a PostgreSQL store used
 * from INSIDE a scope (listIntercepts in a tool, a process whose every line runs in an inherited
 * scope) opens fresh pool connections to a database that is not a trusted endpoint — while any
 * other socket to that same database from the same scope is refused.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { installInterception } from '../../src/intercept/index.js';
import type { InterceptionHandle } from '../../src/intercept/types.js';
import { openStore } from '../../src/store/index.js';
import { createTestDatabase, testDatabaseUrl } from '../helpers/postgres.js';
import { isBlocked } from './egress-kit.js';
import { inScope, MemoryRecorder, ORG, resolveScope, SetGate } from './kit.js';

const url = testDatabaseUrl();
let handle: InterceptionHandle;

describe.skipIf(url === undefined)("the store's own PostgreSQL connections inside a scope", () => {
  beforeAll(() => {
    configureDiag({ level: 'error', sink: () => {} });
    handle = installInterception({
      gate: new SetGate(), // trusts nothing: the database is not a trusted endpoint
      recorder: new MemoryRecorder(),
      resolveScope,
      orgId: () => ORG,
    });
  });
  afterAll(() => handle.uninstall());

  it('a store opened and queried inside a scope connects (several fresh pool connections)', async () => {
    const db = await createTestDatabase();
    const store = openStore({ databaseUrl: db.url, poolSize: 4, autoMigrate: true, env: {} });
    try {
      const rows = await inScope(() =>
        Promise.all(
          Array.from({ length: 4 }, (_, i) => store.query('SELECT $1::int AS n, pg_sleep(0.05)', [i])),
        ),
      );
      expect(rows.map((r) => r.rows[0]?.n)).toEqual([0, 1, 2, 3]);
    } finally {
      await store.close();
      await db.drop();
    }
  });

  it('the same database from any other client in the scope is refused', async () => {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    const outcome = await inScope(() =>
      client.connect().then(
        () => 'connected',
        (e: unknown) => e,
      ),
    );
    await client.end().catch(() => {});
    expect(isBlocked(outcome), String(outcome)).toBe(true);
  });
});

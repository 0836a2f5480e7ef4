// transaction(): commit, rollback, and (PGlite, one connection) serialization of other work.
import { expect, it } from 'vitest';
import { ProvablyStoreError } from '../../src/errors/index.js';
import type { Queryable } from '../../src/store/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';

describeEachBackend('store transactions', (backend) => {
  const store = useTestStore(backend);
  const count = async (org: string) =>
    (
      await store().query<{ n: number }>(
        'SELECT count(*)::int AS n FROM trusted_endpoints WHERE org_id = $1',
        [org],
      )
    ).rows[0]?.n;
  const add = (q: Queryable, org: string, url: string) =>
    q.query(`INSERT INTO trusted_endpoints (org_id, normalized_url, entry_type) VALUES ($1, $2, 'exact')`, [
      org,
      url,
    ]);

  it('commits when the function resolves and returns its value', async () => {
    const value = await store().transaction(async (tx) => {
      await add(tx, 'tx-commit', 'https://a.test/');
      await add(tx, 'tx-commit', 'https://b.test/');
      return 'done';
    });
    expect(value).toBe('done');
    expect(await count('tx-commit')).toBe(2);
  });

  it('rolls back when the function throws, rethrowing the same error', async () => {
    const boom = new Error('boom');
    const err = await store()
      .transaction(async (tx) => {
        await add(tx, 'tx-rollback', 'https://a.test/');
        throw boom;
      })
      .catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(await count('tx-rollback')).toBe(0);
  });

  it('rolls back when a statement fails, as a ProvablyStoreError', async () => {
    const err = await store()
      .transaction(async (tx) => {
        await add(tx, 'tx-fail', 'https://a.test/');
        await tx.query('SELECT * FROM no_such_table');
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvablyStoreError);
    expect(err).toMatchObject({ reason: 'query' });
    expect((err as Error).message).toContain('42P01');
    expect(await count('tx-fail')).toBe(0);
  });

  it('refuses to report success when a failed statement was swallowed inside', async () => {
    const err = await store()
      .transaction(async (tx) => {
        await add(tx, 'tx-swallow', 'https://a.test/');
        await tx.query('SELECT 1/0').catch(() => {});
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvablyStoreError);
    expect((err as Error).message).toContain('rolled back at COMMIT');
    expect(await count('tx-swallow')).toBe(0);
  });

  it('refuses the tx handle after the transaction ended', async () => {
    let leaked: { query: (sql: string) => Promise<unknown> } | undefined;
    await store().transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked?.query('SELECT 1')).rejects.toMatchObject({ reason: 'closed' });
  });

  it('never lets a concurrent query see or join an open transaction', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let inserted!: () => void;
    const insertedP = new Promise<void>((r) => {
      inserted = r;
    });
    const order: string[] = [];
    const tx = store()
      .transaction(async (t) => {
        await add(t, 'tx-iso', 'https://a.test/');
        inserted();
        await gate;
        order.push('tx-end');
        throw new Error('roll back');
      })
      .catch(() => {});
    await insertedP;
    const outside = count('tx-iso').then((n) => {
      order.push('outside');
      return n;
    });
    // Give the outside query every chance to run inside the transaction if it could.
    await new Promise((r) => setTimeout(r, 50));
    release();
    expect(await outside).toBe(0);
    await tx;
    if (backend.name === 'pglite') expect(order).toEqual(['tx-end', 'outside']);
  });

  it('runs many concurrent transactions and queries without losing any', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? store().transaction((tx) => add(tx, 'tx-many', `https://h${i}.test/`))
          : add(store(), 'tx-many', `https://h${i}.test/`),
      ),
    );
    expect(await count('tx-many')).toBe(20);
  });

  if (backend.name === 'pglite') {
    it('fails fast (not deadlock) when the store is used from inside its own transaction', async () => {
      const err = await store()
        .transaction(async () => {
          await store().query('SELECT 1');
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProvablyStoreError);
      expect((err as Error).message).toContain('use the `tx` handle');
    });
  }
});

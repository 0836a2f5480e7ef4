// The database itself refuses to rewrite history, on both backends: provably_intercepts takes
// no UPDATE/DELETE/TRUNCATE; trusted_endpoints allows only revoking an active entry.
import { expect, it } from 'vitest';
import { ProvablyStoreError } from '../../src/errors/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';

async function failure(p: Promise<unknown>): Promise<ProvablyStoreError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProvablyStoreError);
  return err as ProvablyStoreError;
}

describeEachBackend('append-only tables', (backend) => {
  const store = useTestStore(backend);

  const addIntercept = async (org: string) =>
    (
      await store().query<{ id: string }>(
        `INSERT INTO provably_intercepts (org_id, agent_id, action_name, method, url, started_at)
         VALUES ($1, 'agent', 'act', 'GET', 'https://e.test/', now()) RETURNING id`,
        [org],
      )
    ).rows[0]?.id as string;

  const addEndpoint = async (org: string, url: string) =>
    (
      await store().query<{ id: string }>(
        `INSERT INTO trusted_endpoints (org_id, normalized_url, display_label, entry_type)
         VALUES ($1, $2, 'label', 'exact') RETURNING id`,
        [org, url],
      )
    ).rows[0]?.id as string;

  it.each([
    ['UPDATE', "UPDATE provably_intercepts SET status = 500 WHERE org_id = 'ao-1'"],
    ['DELETE', "DELETE FROM provably_intercepts WHERE org_id = 'ao-1'"],
    ['TRUNCATE', 'TRUNCATE provably_intercepts'],
  ])('refuses %s on provably_intercepts with reason append-only', async (op, sql) => {
    const id = await addIntercept('ao-1');
    const err = await failure(store().query(sql));
    expect(err.reason).toBe('append-only');
    expect(err.message).toContain(op);
    expect((err.cause as { code?: string }).code).toBe('PVA01');
    const still = await store().query('SELECT status FROM provably_intercepts WHERE id = $1', [id]);
    expect(still.rows).toEqual([{ status: null }]);
  });

  it('rolls back the whole transaction around a refused change', async () => {
    const err = await failure(
      store().transaction(async (tx) => {
        await tx.query(
          `INSERT INTO provably_intercepts (org_id, agent_id, action_name, method, url, started_at)
           VALUES ('ao-tx', 'a', 'b', 'GET', 'https://e.test/', now())`,
        );
        await tx.query("DELETE FROM provably_intercepts WHERE org_id = 'ao-tx'");
      }),
    );
    expect(err.reason).toBe('append-only');
    const n = await store().query(
      "SELECT count(*)::int AS n FROM provably_intercepts WHERE org_id = 'ao-tx'",
    );
    expect(n.rows).toEqual([{ n: 0 }]);
  });

  it('allows revoking an active trusted endpoint exactly once', async () => {
    const id = await addEndpoint('te-revoke', 'https://a.test/');
    const res = await store().query('UPDATE trusted_endpoints SET revoked_at = now() WHERE id = $1', [id]);
    expect(res.rowCount).toBe(1);
    const again = await failure(
      store().query('UPDATE trusted_endpoints SET revoked_at = now() WHERE id = $1', [id]),
    );
    expect(again.reason).toBe('append-only');
    const unrevoke = await failure(
      store().query('UPDATE trusted_endpoints SET revoked_at = NULL WHERE id = $1', [id]),
    );
    expect(unrevoke.reason).toBe('append-only');
  });

  it.each([
    ['the URL', "normalized_url = 'https://evil.test/'"],
    ['the label', "display_label = 'other'"],
    ['the org', "org_id = 'other-org'"],
    ['the type', "entry_type = 'template'"],
    ['the creation time', "created_at = now() - interval '1 day'"],
    ['the URL while revoking', "revoked_at = now(), normalized_url = 'https://evil.test/'"],
  ])('refuses changing %s of a trusted endpoint', async (_what, set) => {
    const id = await addEndpoint('te-edit', `https://${Math.random()}.test/`);
    const err = await failure(store().query(`UPDATE trusted_endpoints SET ${set} WHERE id = $1`, [id]));
    expect(err.reason).toBe('append-only');
    expect(err.message).toContain('only revoking');
  });

  it('refuses DELETE and TRUNCATE on trusted_endpoints', async () => {
    const id = await addEndpoint('te-del', 'https://a.test/');
    expect((await failure(store().query('DELETE FROM trusted_endpoints WHERE id = $1', [id]))).reason).toBe(
      'append-only',
    );
    expect((await failure(store().query('TRUNCATE trusted_endpoints'))).reason).toBe('append-only');
    const n = await store().query('SELECT count(*)::int AS n FROM trusted_endpoints WHERE id = $1', [id]);
    expect(n.rows).toEqual([{ n: 1 }]);
  });

  it('keeps one active entry per org and URL, with revoked ones as history', async () => {
    const first = await addEndpoint('te-uniq', 'https://u.test/');
    const dup = await failure(addEndpoint('te-uniq', 'https://u.test/'));
    expect(dup.reason).toBe('query');
    expect(dup.message).toContain('23505');
    // Same URL in another org is a different entry.
    await addEndpoint('te-uniq-2', 'https://u.test/');
    await store().query('UPDATE trusted_endpoints SET revoked_at = now() WHERE id = $1', [first]);
    const second = await addEndpoint('te-uniq', 'https://u.test/');
    expect(second).not.toBe(first);
    const rows = await store().query<{ active: boolean }>(
      `SELECT revoked_at IS NULL AS active FROM trusted_endpoints
       WHERE org_id = 'te-uniq' ORDER BY created_at, revoked_at NULLS LAST`,
    );
    expect(rows.rows.map((r) => r.active).sort()).toEqual([false, true]);
  });

  it('refuses an unknown entry type', async () => {
    const err = await failure(
      store().query(
        `INSERT INTO trusted_endpoints (org_id, normalized_url, entry_type) VALUES ('te-type', 'https://t.test/', 'bogus')`,
      ),
    );
    expect(err.reason).toBe('query');
    expect(err.message).toContain('23514');
  });
});

/**
 * Unsigned logs and signing them all (what `provably serve` and `provably checkpoint` run), and
 * verifyLog's verdict: verified / unsigned / broken, with the oldest uncovered record's age.
 */
import { expect, it } from 'vitest';
import {
  appendLeaves,
  generateSigningKeyPem,
  issueCheckpoint,
  signerFromPem,
  signUnsignedLogs,
  trustedKeysOf,
  unsignedLogs,
  verifyExitCode,
  verifyLog,
} from '../../src/ledger/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';
import { insertRecords, installTamper, lit, tamper } from './fixtures.js';

const signer = signerFromPem(generateSigningKeyPem());
const trustedKeys = trustedKeysOf(signer);
let n = 0;
const org = (name: string) => `pending-${name}-${process.pid}-${++n}`;

describeEachBackend('unsigned logs and the signer', (backend) => {
  const store = useTestStore(backend);

  async function record(orgId: string, count: number, seed = 1): Promise<string[]> {
    const ids = await insertRecords(store(), orgId, count, seed);
    await appendLeaves(store(), orgId, ids);
    return ids;
  }

  it('lists every log whose head is beyond its largest checkpoint; `orgs` narrows the list', async () => {
    const [a, b] = [org('a'), org('b')];
    await record(a, 3);
    await record(b, 2);
    const mine = (logs: Awaited<ReturnType<typeof unsignedLogs>>) =>
      logs.filter((l) => l.orgId === a || l.orgId === b);
    expect(mine(await unsignedLogs(store()))).toEqual([
      { orgId: a, treeSize: 3, signedSize: 0 },
      { orgId: b, treeSize: 2, signedSize: 0 },
    ]);
    await issueCheckpoint(store(), a, signer);
    expect(mine(await unsignedLogs(store()))).toEqual([{ orgId: b, treeSize: 2, signedSize: 0 }]);
    expect(await unsignedLogs(store(), [a])).toEqual([]);
    await record(a, 1, 7);
    expect(await unsignedLogs(store(), [a])).toEqual([{ orgId: a, treeSize: 4, signedSize: 3 }]);
  });

  it('verifyLog: unsigned (exit 3) while records are uncovered, verified (0) once signed, broken (1) after an edit', async () => {
    const o = org('verdict');
    const ids = await record(o, 4);
    const before = await verifyLog(store(), o, { trustedKeys: {} });
    expect(before).toMatchObject({ ok: true, status: 'unsigned', uncheckpointedLeaves: 4, checkpoints: 0 });
    expect(verifyExitCode(before.status)).toBe(3);
    expect(Date.parse(before.oldestUncoveredAt as string)).not.toBeNaN();
    expect(before.oldestUncoveredAgeMs).toBeGreaterThanOrEqual(0);

    const outcomes = await signUnsignedLogs(store(), signer, { orgs: [o] });
    expect(outcomes).toMatchObject([{ orgId: o, ok: true, checkpoint: { tree_size: 4 } }]);
    const signed = await verifyLog(store(), o, { trustedKeys });
    expect(signed).toMatchObject({
      ok: true,
      status: 'verified',
      uncheckpointedLeaves: 0,
      oldestUncoveredAt: null,
      oldestUncoveredAgeMs: null,
    });
    expect(verifyExitCode(signed.status)).toBe(0);

    // One more record: only it is uncovered, and the oldest uncovered is that one.
    const more = await record(o, 1, 9);
    const partly = await verifyLog(store(), o, { trustedKeys });
    expect(partly).toMatchObject({ status: 'unsigned', uncheckpointedLeaves: 1 });
    const stored = await store().query<{ at: Date }>(
      'SELECT created_at AS at FROM provably_ledger_leaves WHERE record_id = $1',
      [more[0]],
    );
    expect(partly.oldestUncoveredAt).toBe(new Date(stored.rows[0]?.at as Date).toISOString());

    await installTamper(store().raw);
    await tamper(store().raw, [
      `UPDATE provably_intercepts SET url = url || '#x' WHERE id = ${lit(ids[1] as string)}`,
    ]);
    const broken = await verifyLog(store(), o, { trustedKeys });
    expect(broken).toMatchObject({ ok: false, status: 'broken', firstBroken: { recordId: ids[1] } });
    expect(verifyExitCode(broken.status)).toBe(1);
  });

  it('signs every unsigned log; a damaged one fails on its own without stopping the others', async () => {
    const [bad, good] = [org('bad'), org('good')];
    const badIds = await record(bad, 2);
    await record(good, 3);
    await installTamper(store().raw);
    await tamper(store().raw, [
      `UPDATE provably_intercepts SET url = url || '#x' WHERE id = ${lit(badIds[0] as string)}`,
    ]);
    const outcomes = await signUnsignedLogs(store(), signer, { orgs: [bad, good] });
    expect(outcomes).toHaveLength(2);
    const byOrg = new Map(outcomes.map((o) => [o.orgId, o]));
    expect(byOrg.get(bad)).toMatchObject({ ok: false });
    expect(String((byOrg.get(bad) as { error: Error }).error.message)).toMatch(/leaf 0/);
    expect(byOrg.get(good)).toMatchObject({ ok: true, checkpoint: { tree_size: 3 } });
    expect(await unsignedLogs(store(), [bad, good])).toEqual([{ orgId: bad, treeSize: 2, signedSize: 0 }]);
  });
});

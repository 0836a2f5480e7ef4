/**
 * `provably intercepts proof <id>` as the BUILT binary on a real store: from a record id (what a
 * span's `provably.record_id` carries) to its leaf and inclusion proof under the latest signed
 * checkpoint. Not yet covered → 3; covered → 0 and the proof re-verifies offline; the row edited
 * by a superuser afterwards → 1; unknown id → 1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCheckpoint, loadSigner, verifyInclusion } from '../../src/ledger/index.js';
import { recordRun, superuser, withEnvStore } from '../fixtures/handoff/records.js';
import { cliBackends, runCli } from '../helpers/cli.js';

for (const backend of cliBackends()) {
  describe(`provably intercepts proof [${backend.name}]`, () => {
    let env: NodeJS.ProcessEnv;
    let cleanup: () => Promise<void>;
    let tmp: string;
    beforeAll(async () => {
      ({ env, cleanup } = await backend.env());
      tmp = mkdtempSync(join(tmpdir(), 'provably-cli-proof-'));
      env.PROVABLY_DATA_DIR ??= join(tmp, '.provably');
    });
    afterAll(async () => {
      await cleanup();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('unsigned (3) → verified (0) with a proof that checks offline → broken (1) after a superuser edit', async () => {
      const org = 'proof-org';
      const ids = await withEnvStore(env, async (store) => {
        const run = await recordRun(store, {
          orgId: org,
          calls: Array.from({ length: 3 }, (_, i) => ({
            action: `tool_${i}`,
            url: `https://api.example.com/items/${i}`,
            body: { i },
          })),
        });
        return run.ids;
      });
      const id = ids[1] as string;

      const before = await runCli(['intercepts', 'proof', id, '--json'], env);
      expect(before.code, before.stderr).toBe(3);
      expect(JSON.parse(before.stdout)).toMatchObject({
        recordId: id,
        orgId: org,
        status: 'unsigned',
        proof: null,
      });

      await withEnvStore(env, (store) => issueCheckpoint(store, org, loadSigner({ env })));
      const ok = await runCli(['intercepts', 'proof', id, '--json'], env);
      expect(ok.code, ok.stderr).toBe(0);
      const answer = JSON.parse(ok.stdout);
      expect(answer).toMatchObject({
        status: 'verified',
        proof: { recordId: id, leafIndex: 1, treeSize: 3 },
      });
      // The printed proof is a real one: its path leads from the leaf to the checkpoint's root.
      expect(answer.proof.rootHash).toBe(answer.checkpoint.root_hash);
      const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
      expect(
        verifyInclusion({
          leafIndex: answer.proof.leafIndex,
          treeSize: answer.proof.treeSize,
          leafHash: hex(answer.proof.leafHash),
          proof: answer.proof.proof.map(hex),
          rootHash: hex(answer.checkpoint.root_hash),
        }),
      ).toEqual({ ok: true });
      const text = await runCli(['intercepts', 'proof', id], env);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^VERIFIED GET https:\/\/api\.example\.com\/items\/1 /);
      expect(text.stdout).toContain('leaf 1 of 3');

      await withEnvStore(env, (store) =>
        superuser(store, [['UPDATE provably_intercepts SET status = 201 WHERE id = $1', [id]]]),
      );
      const broken = await runCli(['intercepts', 'proof', id, '--json'], env);
      expect(broken.code, broken.stderr).toBe(1);
      expect(JSON.parse(broken.stdout)).toMatchObject({ status: 'broken' });

      const unknown = await runCli(['intercepts', 'proof', '00000000-0000-4000-8000-000000000000'], env);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('no recorded call with id');
    });
  });
}

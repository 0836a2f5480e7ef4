/**
 * `provably keys show` and `provably verify`, run as the BUILT binary against a real store (an
 * embedded data dir, and a PostgreSQL database when configured). Records are written the way the
 * runtime writes them (recorder + leaves in one transaction, then a signed checkpoint); tampering
 * is done as the database superuser with the append-only triggers off.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateSigningKeyPem,
  issueCheckpoint,
  keyIdOf,
  loadSigner,
  SIGNING_KEY_FILE,
  signerFromPem,
} from '../../src/ledger/index.js';
import { recordRun, superuser, withEnvStore } from '../fixtures/handoff/records.js';
import { startServe } from '../fixtures/handoff/serve.js';
import { cliBackends, runCli } from '../helpers/cli.js';

const HEX16 = /^[0-9a-f]{16}$/;

for (const backend of cliBackends()) {
  describe(`provably keys show / verify [${backend.name}]`, () => {
    let env: NodeJS.ProcessEnv;
    let cleanup: () => Promise<void>;
    let tmp: string;
    beforeAll(async () => {
      ({ env, cleanup } = await backend.env());
      tmp = mkdtempSync(join(tmpdir(), 'provably-cli-ledger-'));
      // Never the repository's ./.provably: the data dir (embedded) or XDG_CONFIG_HOME (PostgreSQL;
      // cliBackends gives a private one) hold the key.
      env.PROVABLY_DATA_DIR ??= join(tmp, '.provably');
    });
    afterAll(async () => {
      await cleanup();
      rmSync(tmp, { recursive: true, force: true });
    });

    /** Where the default key lives: per user on PostgreSQL, in the data dir on the embedded store. */
    const defaultKeyFile = () =>
      env.PROVABLY_DATABASE_URL
        ? join(env.XDG_CONFIG_HOME as string, 'provably', SIGNING_KEY_FILE)
        : join(env.PROVABLY_DATA_DIR as string, SIGNING_KEY_FILE);

    /** Records `n` calls in `org` and checkpoints them with this installation's key. */
    async function seed(org: string, n: number): Promise<string[]> {
      return withEnvStore(env, async (store) => {
        const run = await recordRun(store, {
          orgId: org,
          calls: Array.from({ length: n }, (_, i) => ({
            action: `tool_${i}`,
            url: `https://api.example.com/items/${i}`,
            body: { i, name: `item ${i}` },
            gzip: i % 2 === 1,
          })),
        });
        await issueCheckpoint(store, org, loadSigner({ env }));
        return run.ids;
      });
    }

    it('keys show: generates the data dir key once (mode 0600), then reuses it; text and --json agree', async () => {
      const keyFile = defaultKeyFile();
      rmSync(keyFile, { force: true });
      const text = await runCli(['keys', 'show'], env);
      expect(text.code, text.stderr).toBe(0);
      const lines = text.stdout.trimEnd().split('\n');
      const keyId = lines[0]?.replace(/^key id: /, '') as string;
      expect(keyId).toMatch(HEX16);
      expect(lines[1]).toBe(`location: ${keyFile}`);
      expect(lines[2]).toBe('-----BEGIN PUBLIC KEY-----');
      expect(lines.at(-1)).toBe('-----END PUBLIC KEY-----');
      expect(text.stderr).toContain(`generated a new checkpoint signing key at ${keyFile}`);

      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      const pem = readFileSync(keyFile, 'utf8');
      expect(keyIdOf(pem)).toBe(keyId);

      const json = await runCli(['keys', 'show', '--json'], env);
      expect(json.code, json.stderr).toBe(0);
      const info = JSON.parse(json.stdout);
      expect(info).toEqual({
        key_id: keyId,
        public_key_pem: signerFromPem(pem).publicKeyPem,
        location: keyFile,
      });
      expect(`${lines.slice(2).join('\n')}\n`).toBe(info.public_key_pem);
      expect(json.stderr).not.toContain('generated'); // reused, not regenerated
      expect(readFileSync(keyFile, 'utf8')).toBe(pem);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    });

    it('keys show: a key file other users can read is used, with a warning to chmod it', async () => {
      const keyFile = defaultKeyFile();
      const before = JSON.parse((await runCli(['keys', 'show', '--json'], env)).stdout).key_id;
      chmodSync(keyFile, 0o644);
      try {
        const res = await runCli(['keys', 'show', '--json'], env);
        expect(res.code).toBe(0);
        expect(JSON.parse(res.stdout).key_id).toBe(before);
        expect(res.stderr).toMatch(/readable by other users \(mode 644\); chmod 600 it/);
      } finally {
        chmodSync(keyFile, 0o600);
      }
    });

    it('keys show: PROVABLY_SIGNING_KEY as PEM text, as one line with \\n escapes, and as a file path', async () => {
      const pem = generateSigningKeyPem();
      const expected = signerFromPem(pem).keyId;
      const dataDir = join(tmp, 'unused-data-dir');
      const file = join(tmp, 'signing.pem');
      writeFileSync(file, pem, { mode: 0o600 });
      for (const value of [pem, pem.trimEnd().replaceAll('\n', '\\n'), file]) {
        const res = await runCli(['keys', 'show', '--json'], {
          ...env,
          PROVABLY_DATA_DIR: dataDir,
          PROVABLY_SIGNING_KEY: value,
        });
        expect(res.code, res.stderr).toBe(0);
        expect(JSON.parse(res.stdout).key_id).toBe(expected);
        expect(res.stderr).toBe('');
      }
      // The configured key is used as is: no key is generated in the data dir.
      expect(() => statSync(join(dataDir, SIGNING_KEY_FILE))).toThrow();
    });

    it('keys show: an unusable PROVABLY_SIGNING_KEY fails with one line, no stack, nothing on stdout', async () => {
      for (const value of [
        '-----BEGIN PRIVATE KEY-----\\nnot base64\\n-----END PRIVATE KEY-----',
        join(tmp, 'missing.pem'),
      ]) {
        const res = await runCli(['keys', 'show'], { ...env, PROVABLY_SIGNING_KEY: value });
        expect(res.code).not.toBe(0);
        expect(res.stdout).toBe('');
        expect(res.stderr.trim().split('\n')).toHaveLength(1);
        expect(res.stderr).toMatch(/^provably: /);
        expect(res.stderr).not.toMatch(/\n\s+at /);
      }
    });

    it('verify: an untouched log is OK (exit 0), in text and --json', async () => {
      const ids = await seed('org-ok', 5);
      const text = await runCli(['verify', '--org', 'org-ok'], env);
      expect(text.code, text.stderr + text.stdout).toBe(0);
      expect(text.stdout).toMatch(/^OK org org-ok: 5 records, root [0-9a-f]{64}\n/);
      expect(text.stdout).toContain('checkpoints: 1 of 1 verified (latest covers 5); 0 newer records');
      const json = await runCli(['verify', '--org', 'org-ok', '--json'], env);
      expect(json.code).toBe(0);
      const report = JSON.parse(json.stdout);
      expect(report).toMatchObject({
        ok: true,
        status: 'verified',
        exitCode: 0,
        oldestUncoveredAt: null,
        orgId: 'org-ok',
        treeSize: 5,
        checkpoints: 1,
        verifiedCheckpoints: 1,
        uncheckpointedLeaves: 0,
        unloggedRecords: 0,
        firstBroken: null,
        problems: [],
        problemCount: 0,
      });
      expect(report.latestVerified.tree_size).toBe(5);
      expect(ids).toHaveLength(5);
      // PROVABLY_ORG_ID selects the org too.
      expect((await runCli(['verify'], { ...env, PROVABLY_ORG_ID: 'org-ok' })).code).toBe(0);
    });

    it('verify: a superuser edit of an intercept row → exit 1, naming the first broken record index and id', async () => {
      const ids = await seed('org-edit', 6);
      const changed = await withEnvStore(env, async (store) => {
        // Without the bypass the database refuses the edit.
        await expect(
          store.query(`UPDATE provably_intercepts SET status = 201 WHERE id = $1`, [ids[3]]),
        ).rejects.toMatchObject({ reason: 'append-only' });
        return superuser(store, [
          [`UPDATE provably_intercepts SET url = url || '?evil=1' WHERE id = $1`, [ids[3]]],
        ]);
      });
      expect(changed).toBe(1);
      const text = await runCli(['verify', '--org', 'org-edit'], env);
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/^BROKEN org org-edit: 6 records/);
      expect(text.stdout).toContain(`first broken record: index 3, id ${ids[3]} (record-mismatch)`);
      const json = await runCli(['verify', '--org', 'org-edit', '--json'], env);
      expect(json.code).toBe(1);
      const report = JSON.parse(json.stdout);
      expect(report.ok).toBe(false);
      expect(report.firstBroken).toMatchObject({
        kind: 'record-mismatch',
        leafIndex: 3,
        recordId: ids[3],
        changed: 'record',
      });
      // The other org's log is untouched and still verifies.
      expect((await runCli(['verify', '--org', 'org-ok'], env)).code).toBe(0);
    });

    it('verify: a deleted intercept row → exit 1 (record-missing at its index)', async () => {
      const ids = await seed('org-delete', 4);
      await withEnvStore(env, (store) =>
        superuser(store, [['DELETE FROM provably_intercepts WHERE id = $1', [ids[1]]]]),
      );
      const text = await runCli(['verify', '--org', 'org-delete'], env);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(`first broken record: index 1, id ${ids[1]} (record-missing)`);
      const report = JSON.parse((await runCli(['verify', '--org', 'org-delete', '--json'], env)).stdout);
      expect(report.firstBroken).toMatchObject({ kind: 'record-missing', leafIndex: 1, recordId: ids[1] });
    });

    it('verify: a stored body changed under its digest → exit 1 (body-mismatch)', async () => {
      const ids = await seed('org-body', 3);
      await withEnvStore(env, (store) =>
        superuser(store, [
          [
            `UPDATE provably_intercepts SET response_body = convert_to('{"i":2,"name":"forged"}', 'UTF8') WHERE id = $1`,
            [ids[2]],
          ],
        ]),
      );
      const report = JSON.parse((await runCli(['verify', '--org', 'org-body', '--json'], env)).stdout);
      expect(report.ok).toBe(false);
      expect(report.firstBroken).toMatchObject({ kind: 'body-mismatch', leafIndex: 2, recordId: ids[2] });
      expect((await runCli(['verify', '--org', 'org-body'], env)).code).toBe(1);
    });

    if (backend.name === 'pglite') {
      it('verify while another process holds the data dir: exit 1, one line naming the lock', async () => {
        const holder = await startServe(env);
        try {
          const res = await runCli(['verify', '--org', 'org-ok'], env);
          expect(res.code).toBe(1);
          expect(res.stdout).toBe('');
          expect(res.stderr.trim().split('\n')).toHaveLength(1);
          expect(res.stderr).toMatch(/^provably: .*locked/);
        } finally {
          expect(await holder.stop()).toBe(0);
        }
      });
    }

    it('verify: checkpoints signed by a key not given with --trusted-key do not verify → exit 1', async () => {
      const other = join(tmp, 'other.pub.pem');
      writeFileSync(other, signerFromPem(generateSigningKeyPem()).publicKeyPem);
      const res = await runCli(['verify', '--org', 'org-ok', '--trusted-key', other, '--json'], env);
      expect(res.code).toBe(1);
      expect(JSON.parse(res.stdout).firstBroken).toMatchObject({ kind: 'checkpoint-invalid' });
      // With the installation's public key given explicitly, it verifies.
      const mine = join(tmp, 'mine.pub.pem');
      writeFileSync(mine, JSON.parse((await runCli(['keys', 'show', '--json'], env)).stdout).public_key_pem);
      expect((await runCli(['verify', '--org', 'org-ok', '--trusted-key', mine], env)).code).toBe(0);
      // A --trusted-key that is not a public key PEM is bad input: exit 2, one line.
      const junk = join(tmp, 'junk.pem');
      writeFileSync(junk, 'not a key');
      const bad = await runCli(['verify', '--org', 'org-ok', '--trusted-key', junk], env);
      expect(bad.code).toBe(2);
      expect(bad.stdout).toBe('');
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    });
  });
}

/**
 * `provably evaluate <file>`, run as the BUILT binary: payloads built from real records in the
 * CLI's own store (embedded data dir, and PostgreSQL when configured) and signed with this
 * installation's key, then evaluated as saved files — honest, tampered, offline, and not
 * payloads at all.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationResult } from '../../src/eval/index.js';
import { canonicalPayloadJson, type HandoffPayload } from '../../src/handoff/index.js';
import { generateSigningKeyPem, loadSigner, signerFromPem } from '../../src/ledger/index.js';
import { buildPayload, clone, flipHex, recordRun, trust, withEnvStore } from '../fixtures/handoff/records.js';
import { serveFails, startServe } from '../fixtures/handoff/serve.js';
import { CLI, type CliResult, cliBackends, ROOT, runCli } from '../helpers/cli.js';

const ORG = 'org-cli-eval';
const BASE = 'https://quotes.example.com';

/** The CLI with `input` on stdin (runCli has no stdin). */
function runCliStdin(args: string[], env: NodeJS.ProcessEnv, input: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

for (const backend of cliBackends()) {
  describe(`provably evaluate [${backend.name}]`, () => {
    let env: NodeJS.ProcessEnv;
    let cleanup: () => Promise<void>;
    let tmp: string;
    let honest: HandoffPayload;
    let bodiless: HandoffPayload;
    let pubKeyFile: string;
    const file = (name: string, content: string) => {
      const path = join(tmp, name);
      writeFileSync(path, content);
      return path;
    };

    beforeAll(async () => {
      ({ env, cleanup } = await backend.env());
      tmp = mkdtempSync(join(tmpdir(), 'provably-cli-eval-'));
      env.PROVABLY_DATA_DIR ??= join(tmp, '.provably');
      await withEnvStore(env, async (store) => {
        await trust(store, ORG, `${BASE}/quotes/{symbol}`, `${BASE}/customers/{id}`);
        const run = await recordRun(store, {
          orgId: ORG,
          calls: [
            { action: 'get_quote', url: `${BASE}/quotes/ACME`, body: { symbol: 'ACME', price: 101.5 } },
            {
              action: 'get_customer',
              url: `${BASE}/customers/42`,
              body: { id: 42, name: 'Zoë' },
              gzip: true,
            },
          ],
        });
        const signer = loadSigner({ env }); // this installation's key: the CLI trusts it by default
        const claims = [
          {
            action_name: 'get_quote',
            verification_mode: 'field_extraction' as const,
            json_path: '$.price',
            claimed_value: 101.5,
          },
          {
            action_name: 'get_customer',
            verification_mode: 'verbatim' as const,
            claimed_value: { id: 42, name: 'Zoë' },
          },
        ];
        ({ payload: honest } = await buildPayload(store, run, signer, claims));
        ({ payload: bodiless } = await buildPayload(store, run, signer, claims, { omitBodies: true }));
        pubKeyFile = join(tmp, 'installation.pub.pem');
        writeFileSync(pubKeyFile, signer.publicKeyPem);
      });
    });
    afterAll(async () => {
      await cleanup();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('an honest payload → PASS, exit 0 (text and --json, file and stdin)', async () => {
      const path = file('honest.json', canonicalPayloadJson(honest));
      const text = await runCli(['evaluate', path], env);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout.split('\n')[0]).toBe('PASS');
      expect(text.stdout).toContain('claim 0 get_quote (field_extraction): PASS');
      expect(text.stdout).toContain('claim 1 get_customer (verbatim): PASS');
      expect(text.stdout).not.toContain('\u001b['); // NO_COLOR
      const json = await runCli(['evaluate', path, '--json'], env);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({ outcome: 'PASS', errors: [] });
      const stdin = await runCliStdin(['evaluate', '-', '--json'], env, JSON.stringify(honest, null, 2));
      expect(stdin.code, stdin.stderr).toBe(0);
      expect(JSON.parse(stdin.stdout).outcome).toBe('PASS');
      // With the store at hand a bundle may leave the bodies out.
      const noBodies = await runCli(['evaluate', file('bodiless.json', JSON.stringify(bodiless))], env);
      expect(noBodies.code, noBodies.stdout).toBe(0);
    });

    it('a changed claimed value → CAUGHT (value), exit 1', async () => {
      const lying = clone(honest);
      (lying.claims[0] as { claimed_value: unknown }).claimed_value = 99.5;
      const res = await runCli(['evaluate', file('lying.json', JSON.stringify(lying)), '--json'], env);
      expect(res.code).toBe(1);
      const result = JSON.parse(res.stdout);
      expect(result.outcome).toBe('CAUGHT');
      expect(result.per_claim[0]).toMatchObject({
        verdict: 'CAUGHT',
        check: 'value',
        indexed_value: '101.5',
      });
      expect(result.per_claim[1]).toMatchObject({ verdict: 'PASS' });
      const text = await runCli(['evaluate', join(tmp, 'lying.json')], env);
      expect(text.code).toBe(1);
      expect(text.stdout.split('\n')[0]).toBe('CAUGHT');
    });

    it('one flipped bit in a proof (path node, root, signature, record) → CAUGHT (proof), exit 1', async () => {
      const flips: [string, (b: HandoffPayload['claims'][number]['proof']) => void][] = [
        ['inclusion path', (b) => (b.inclusion_proof[0] = flipHex(b.inclusion_proof[0] as string, 63))],
        ['root', (b) => (b.checkpoint.root_hash = flipHex(b.checkpoint.root_hash, 0))],
        ['signature', (b) => (b.checkpoint.signature = flipBase64(b.checkpoint.signature))],
        ['record', (b) => (b.record.status = 201)],
        ['leaf index', (b) => (b.leaf_index += 1)],
      ];
      for (const [name, flip] of flips) {
        const p = clone(honest);
        flip((p.claims[1] as HandoffPayload['claims'][number]).proof);
        const res = await runCli(['evaluate', file(`flip-${name}.json`, JSON.stringify(p)), '--json'], env);
        expect(res.code, name).toBe(1);
        const result = JSON.parse(res.stdout);
        expect(result.outcome, name).toBe('CAUGHT');
        expect(result.per_claim[1], name).toMatchObject({ verdict: 'CAUGHT', check: 'proof' });
      }
    });

    it('--offline judges by the payload alone: its endpoints and an explicit --trusted-key; no store is opened', async () => {
      const path = file('offline.json', canonicalPayloadJson(honest));
      const nowhere = join(tmp, 'no-store-here');
      // No database and a data dir that does not exist: nothing may be opened or created.
      const offlineEnv: NodeJS.ProcessEnv = { ...env, PROVABLY_DATA_DIR: nowhere };
      delete offlineEnv.PROVABLY_DATABASE_URL;
      const res = await runCli(
        ['evaluate', path, '--offline', '--trusted-key', pubKeyFile, '--json'],
        offlineEnv,
      );
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout).outcome).toBe('PASS');
      expect(existsSync(nowhere)).toBe(false);

      // --trusted-endpoint replaces the payload's snapshot: a URL it does not trust is CAUGHT.
      const narrowed = await runCli(
        [
          'evaluate',
          path,
          '--offline',
          '--trusted-key',
          pubKeyFile,
          '--trusted-endpoint',
          `${BASE}/quotes/{symbol}`,
          '--json',
        ],
        offlineEnv,
      );
      expect(narrowed.code).toBe(1);
      expect(JSON.parse(narrowed.stdout).per_claim[1]).toMatchObject({
        verdict: 'CAUGHT',
        check: 'endpoint',
      });

      // A payload without endpoints and no --trusted-endpoint: the check cannot run — ERROR
      // (could not decide), not CAUGHT (nothing says the endpoint was untrusted).
      const { trusted_endpoints: _, ...withoutEndpoints } = clone(honest);
      const none = await runCli(
        [
          'evaluate',
          file('no-endpoints.json', JSON.stringify(withoutEndpoints)),
          '--offline',
          '--trusted-key',
          pubKeyFile,
          '--json',
        ],
        offlineEnv,
      );
      expect(none.code).toBe(1);
      const noneResult = JSON.parse(none.stdout);
      expect(noneResult.outcome).toBe('ERROR');
      expect(noneResult.per_claim[0]).toMatchObject({ verdict: 'ERROR', check: 'endpoint' });
      expect(noneResult.per_claim[0].reason).toMatch(/no trusted-endpoint snapshot/);
      // Given with --trusted-endpoint, the receiver's own list decides.
      const given = await runCli(
        [
          'evaluate',
          join(tmp, 'no-endpoints.json'),
          '--offline',
          '--trusted-key',
          pubKeyFile,
          '--trusted-endpoint',
          `${BASE}/quotes/{symbol}`,
          '--trusted-endpoint',
          `${BASE}/customers/{id}`,
        ],
        offlineEnv,
      );
      expect(given.code, given.stdout).toBe(0);

      // Bodies left out and no store: ERROR, never PASS.
      const bodies = await runCli(
        [
          'evaluate',
          file('offline-bodiless.json', JSON.stringify(bodiless)),
          '--offline',
          '--trusted-key',
          pubKeyFile,
          '--json',
        ],
        offlineEnv,
      );
      expect(bodies.code).toBe(1);
      expect(JSON.parse(bodies.stdout)).toMatchObject({ outcome: 'ERROR' });

      // Another key's checkpoints are not accepted.
      const strangerKey = file('stranger.pub.pem', signerFromPem(generateSigningKeyPem()).publicKeyPem);
      const stranger = await runCli(
        ['evaluate', path, '--offline', '--trusted-key', strangerKey, '--json'],
        offlineEnv,
      );
      expect(stranger.code).toBe(1);
      expect(JSON.parse(stranger.stdout).per_claim[0]).toMatchObject({ verdict: 'CAUGHT', check: 'proof' });
      expect(existsSync(nowhere)).toBe(false);
    });

    it('a file that is not a payload → ERROR (exit 1) with the reason, never a crash', async () => {
      const cases: [string, string][] = [
        ['not-json.txt', 'this is not JSON {'],
        ['empty.json', ''],
        ['array.json', '[]'],
        ['no-claims.json', JSON.stringify({ ...clone(honest), claims: [] })],
        ['binary.bin', '\u0000\u00ff\ufffe'],
      ];
      for (const [name, content] of cases) {
        const res = await runCli(['evaluate', file(name, content)], env);
        expect(res.code, `${name}: ${res.stderr}`).toBe(1);
        expect(res.stdout.split('\n')[0], name).toBe('ERROR');
        expect(res.stdout, name).toMatch(/error: /);
        expect(res.stderr, name).not.toMatch(/\n\s+at /);
        const json = await runCli(['evaluate', join(tmp, name), '--json'], env);
        expect(JSON.parse(json.stdout).outcome, name).toBe('ERROR');
      }
    });

    it('a missing file → exit 2 with one line on stderr and nothing on stdout', async () => {
      const missing = join(tmp, 'does-not-exist.json');
      const res = await runCli(['evaluate', missing], env);
      expect(res.code).toBe(2);
      expect(res.stdout).toBe('');
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toMatch(/^provably: .*does-not-exist\.json/);
      // A directory is not a payload file either.
      const dir = await runCli(['evaluate', tmp], env);
      expect(dir.code).toBe(2);
      expect(dir.stderr.trim().split('\n')).toHaveLength(1);
    });
  });
}

for (const backend of cliBackends()) {
  describe(`provably serve [${backend.name}]`, () => {
    let env: NodeJS.ProcessEnv;
    let cleanup: () => Promise<void>;
    let tmp: string;
    let payload: HandoffPayload;
    beforeAll(async () => {
      ({ env, cleanup } = await backend.env());
      tmp = mkdtempSync(join(tmpdir(), 'provably-cli-serve-'));
      env.PROVABLY_DATA_DIR ??= join(tmp, '.provably');
      await withEnvStore(env, async (store) => {
        await trust(store, ORG, `${BASE}/quotes/{symbol}`);
        const run = await recordRun(store, {
          orgId: ORG,
          calls: [
            { action: 'get_quote', url: `${BASE}/quotes/ACME`, body: { symbol: 'ACME', price: 101.5 } },
          ],
        });
        ({ payload } = await buildPayload(store, run, loadSigner({ env }), [
          {
            action_name: 'get_quote',
            verification_mode: 'field_extraction',
            json_path: '$.price',
            claimed_value: 101.5,
          },
        ]));
      });
    });
    afterAll(async () => {
      await cleanup();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('serves the store: healthz, POST → PASS (store mode), GET the verdict; SIGTERM exits 0', async () => {
      const serve = await startServe(env);
      try {
        expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        const health = await fetch(`${serve.url}/healthz`);
        expect(await health.json()).toEqual({ ok: true, store: backend.name });
        const res = await fetch(`${serve.url}/handoffs/receive`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: canonicalPayloadJson(payload),
        });
        expect(res.status).toBe(200);
        const verdict = (await res.json()) as { evaluation_id: string; outcome: string };
        expect(verdict.outcome).toBe('PASS');
        const stored = await fetch(`${serve.url}/evaluations/${verdict.evaluation_id}`);
        expect(((await stored.json()) as { outcome: string }).outcome).toBe('PASS');
      } finally {
        expect(await serve.stop()).toBe(0);
      }
      for (const line of serve.stderr().trimEnd().split('\n')) expect(JSON.parse(line)).toHaveProperty('msg');
    });

    it('--independent judges by the payload alone: no endpoint snapshot is ERROR, not CAUGHT', async () => {
      const keyFile = join(tmp, 'installation.pub.pem');
      writeFileSync(keyFile, loadSigner({ env }).publicKeyPem);
      const serveEnv: NodeJS.ProcessEnv = { ...env, PROVABLY_DATA_DIR: join(tmp, 'serve-only', '.provably') };
      delete serveEnv.PROVABLY_DATABASE_URL;
      const serve = await startServe(serveEnv, ['--independent', '--trusted-key', keyFile]);
      const post = async (p: unknown) =>
        (await (
          await fetch(`${serve.url}/handoffs/receive`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(p),
          })
        ).json()) as EvaluationResult;
      try {
        expect((await post(payload)).outcome).toBe('PASS');
        const { trusted_endpoints: _, ...withoutEndpoints } = clone(payload);
        const none = await post(withoutEndpoints);
        expect(none.outcome).toBe('ERROR');
        expect(none.per_claim[0]).toMatchObject({ verdict: 'ERROR', check: 'endpoint' });
        const narrowed = await post({ ...clone(payload), trusted_endpoints: [`${BASE}/other`] });
        expect(narrowed.per_claim[0]).toMatchObject({ verdict: 'CAUGHT', check: 'endpoint' });
      } finally {
        expect(await serve.stop()).toBe(0);
      }
    });

    it('fails at start, with one line and no listening port, on bad input or an unusable store', async () => {
      const port = await serveFails(env, ['--port', '70000']);
      expect(port.code).toBe(2);
      expect(port.stdout).toBe('');
      expect(port.stderr.trim().split('\n')).toHaveLength(1);

      const broken: NodeJS.ProcessEnv =
        backend.name === 'postgres'
          ? { ...env, PROVABLY_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }
          : { ...env, PROVABLY_DATA_DIR: join(tmp, 'a-file') };
      if (backend.name === 'pglite') writeFileSync(join(tmp, 'a-file'), 'not a data dir');
      const store = await serveFails(broken);
      expect(store.code, store.stdout + store.stderr).toBe(1);
      expect(store.stdout).not.toContain('listening');
      expect(store.stderr).toMatch(/^provably: /);
    });

    if (backend.name === 'pglite') {
      it('a data dir another process holds: the second service stops at start with the reason (locked)', async () => {
        const first = await startServe(env);
        try {
          const second = await serveFails(env);
          expect(second.code).toBe(1);
          expect(second.stdout).not.toContain('listening');
          expect(second.stderr).toMatch(/locked|held by|in use/i);
          expect(second.stderr.trim().split('\n')).toHaveLength(1);
        } finally {
          expect(await first.stop()).toBe(0);
        }
      });
    }
  });
}

/** Flips one bit of a base64 string's decoded bytes. */
function flipBase64(b64: string): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[10] = (bytes[10] as number) ^ 0x01;
  return bytes.toString('base64');
}

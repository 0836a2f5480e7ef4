/**
 * Short-lived agents and who signs their records. Real agent processes started with
 * `--import provably/register`, the BUILT CLI, real stores:
 * - process.exit(0) right after the calls: the rows are there, nothing is signed; `provably
 *   verify` says so with exit 3 (even with no key anywhere), `provably checkpoint` signs them.
 * - SIGTERM / SIGINT: the agent checkpoints before it goes, and still dies by that signal.
 * - kill -9: every call the agent saw answered is recorded, unsigned until a signer runs.
 * - `provably serve` signs what exited agents left, within PROVABLY_CHECKPOINT_INTERVAL_MS.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { superuser } from '../fixtures/handoff/records.js';
import { startServe } from '../fixtures/handoff/serve.js';
import { runCli } from '../helpers/cli.js';
import { type CountingServer, startCountingServer } from '../helpers/counting-server.js';
import { runAgent, startAgent } from './child.js';
import { describeE2E, type E2EStore, useE2EStores } from './stores.js';

let server: CountingServer;
beforeAll(async () => {
  server = await startCountingServer();
});
afterAll(async () => {
  await server?.close();
});

interface VerifyJson {
  ok: boolean;
  status: string;
  treeSize: number;
  uncheckpointedLeaves: number;
  oldestUncoveredAt: string | null;
  oldestUncoveredAgeMs: number | null;
  exitCode: number;
  hint: string | null;
  firstBroken: { recordId: string | null; kind: string } | null;
}

async function verify(store: E2EStore, extra: Record<string, string> = {}) {
  const res = await runCli(['verify', '--org', store.orgId, '--json'], store.env(extra));
  return {
    code: res.code,
    stderr: res.stderr,
    report: res.stdout ? (JSON.parse(res.stdout) as VerifyJson) : null,
  };
}

async function exitingAgent(store: E2EStore, calls = 3, extra: Record<string, string> = {}) {
  const run = await runAgent<{ statuses: number[] }>('short-lived.mjs', {
    env: store.env({ TRUSTED: server.url, ...extra }),
    args: ['exit', String(calls)],
  });
  expect(run.code).toBe(0);
  expect(run.result.statuses).toEqual(Array(calls).fill(200));
}

describeE2E('short-lived agents', (backend) => {
  const stores = useE2EStores(backend);

  it('process.exit(0) right after the calls: rows kept, not signed → verify exit 3 (no key anywhere), checkpoint signs them → 0', {
    timeout: 120_000,
  }, async () => {
    const store = await stores.fresh();
    await store.trust(`${server.url}/json`);
    await exitingAgent(store);
    expect(await store.rows()).toHaveLength(3);

    const text = await runCli(['verify', '--org', store.orgId], store.env());
    expect(text.code, text.stderr).toBe(3);
    expect(text.stdout).toMatch(new RegExp(`^UNSIGNED org ${store.orgId}: 3 records`));
    expect(text.stdout).toContain('3 newer records not yet covered by a checkpoint (oldest ');
    expect(text.stdout).toContain('no signing key exists yet; run `provably checkpoint --all`');

    const before = await verify(store);
    expect(before.code).toBe(3);
    expect(before.report).toMatchObject({
      ok: true,
      status: 'unsigned',
      treeSize: 3,
      uncheckpointedLeaves: 3,
      exitCode: 3,
    });
    expect(Date.parse(before.report?.oldestUncoveredAt ?? '')).not.toBeNaN();
    expect(before.report?.oldestUncoveredAgeMs).toBeGreaterThanOrEqual(0);

    const signed = await runCli(['checkpoint', '--org', store.orgId], store.env());
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toContain(`signed org ${store.orgId}: tree size 3`);
    expect(signed.stderr).toContain('generated a new checkpoint signing key');

    const after = await verify(store);
    expect(after.code).toBe(0);
    expect(after.report).toMatchObject({
      status: 'verified',
      uncheckpointedLeaves: 0,
      oldestUncoveredAt: null,
      hint: null,
    });
    // Nothing left to sign: a second run signs nothing and succeeds.
    const again = await runCli(['checkpoint', '--all', '--json'], store.env());
    expect(again.code, again.stderr).toBe(0);
    expect(
      JSON.parse(again.stdout).checkpoints.filter((c: { org_id: string }) => c.org_id === store.orgId),
    ).toEqual([]);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: the agent checkpoints its rows before it goes, and still ends by ${signal}`, {
      timeout: 120_000,
    }, async () => {
      const store = await stores.fresh();
      await store.trust(`${server.url}/json`);
      const agent = startAgent('short-lived.mjs', {
        env: store.env({ TRUSTED: server.url }),
        args: ['wait', '4'],
        allowFailure: true,
      });
      await agent.next('called');
      agent.process.kill(signal);
      const run = await agent.done;
      expect(run.signal, run.stderr).toBe(signal);
      const res = await verify(store);
      expect(res.code, res.stderr).toBe(0);
      expect(res.report).toMatchObject({ status: 'verified', treeSize: 4, uncheckpointedLeaves: 0 });
    });
  }

  it('kill -9: every answered call is recorded; unsigned (exit 3) until `provably checkpoint`', {
    timeout: 120_000,
  }, async () => {
    const store = await stores.fresh();
    await store.trust(`${server.url}/json`);
    const agent = startAgent('short-lived.mjs', {
      env: store.env({ TRUSTED: server.url }),
      args: ['wait', '3'],
      allowFailure: true,
    });
    await agent.next('called');
    agent.process.kill('SIGKILL');
    expect((await agent.done).signal).toBe('SIGKILL');
    expect(await store.rows()).toHaveLength(3);
    expect((await verify(store)).report).toMatchObject({ status: 'unsigned', uncheckpointedLeaves: 3 });
    expect((await runCli(['checkpoint', '--all'], store.env())).code).toBe(0);
    expect((await verify(store)).code).toBe(0);
  });

  it('provably serve signs the records exited agents left, within PROVABLY_CHECKPOINT_INTERVAL_MS', {
    timeout: 120_000,
  }, async () => {
    const store = await stores.fresh();
    await store.trust(`${server.url}/json`);
    await exitingAgent(store, 2);
    const serve = await startServe(store.env({ PROVABLY_CHECKPOINT_INTERVAL_MS: '1000' }));
    try {
      await waitFor(() => serve.stderr().includes('"msg":"checkpoint"'), 30_000);
      const line = serve
        .stderr()
        .split('\n')
        .find((l) => l.includes('"msg":"checkpoint"') && l.includes(store.orgId));
      expect(JSON.parse(line ?? '{}')).toMatchObject({ org_id: store.orgId, tree_size: 2 });
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    expect((await verify(store)).code).toBe(0);
  });

  it('serve --no-checkpoints signs nothing', { timeout: 120_000 }, async () => {
    const store = await stores.fresh();
    await store.trust(`${server.url}/json`);
    await exitingAgent(store, 1);
    // serve trusts this installation's key by default: make one (keys show creates it).
    expect((await runCli(['keys', 'show'], store.env())).code).toBe(0);
    const serve = await startServe(store.env({ PROVABLY_CHECKPOINT_INTERVAL_MS: '200' }), [
      '--no-checkpoints',
    ]);
    await new Promise((r) => setTimeout(r, 600));
    expect(await serve.stop()).toBe(0);
    expect(serve.stderr()).not.toContain('"msg":"checkpoint"');
    expect((await verify(store)).code).toBe(3);
  });
});

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- PostgreSQL: the documented guarantee, and one key wherever the command runs ------------

if (process.env.PROVABLY_TEST_DATABASE_URL) {
  describe('the signer guarantee [postgres]', () => {
    const stores = useE2EStores('postgres');

    it('20 agents exiting with process.exit(0) while serve runs: within the interval every row is covered; a later superuser edit is named', {
      timeout: 300_000,
    }, async () => {
      const store = await stores.fresh();
      await store.trust(`${server.url}/json`);
      const INTERVAL = 3_000;
      const serve = await startServe(store.env({ PROVABLY_CHECKPOINT_INTERVAL_MS: String(INTERVAL) }));
      try {
        // 4 at a time: 2 cores shared with other work.
        for (let batch = 0; batch < 5; batch++) {
          await Promise.all(Array.from({ length: 4 }, () => exitingAgent(store, 2)));
        }
        const rows = await store.rows();
        expect(rows).toHaveLength(40);
        await new Promise((r) => setTimeout(r, INTERVAL));
        const res = await verify(store);
        expect(res.code, res.stderr).toBe(0);
        expect(res.report).toMatchObject({ status: 'verified', treeSize: 40, uncheckpointedLeaves: 0 });

        const victim = rows[17]?.id as string;
        await store.withStore((s) =>
          superuser(s, [[`UPDATE provably_intercepts SET url = url || '?evil=1' WHERE id = $1`, [victim]]]),
        );
        const broken = await verify(store);
        expect(broken.code).toBe(1);
        expect(broken.report?.firstBroken).toMatchObject({ kind: 'record-mismatch', recordId: victim });
      } finally {
        expect(await serve.stop()).toBe(0);
      }
    });

    it('the default key is per user, not in the working directory: commands run from two directories find the same key', {
      timeout: 120_000,
    }, async () => {
      const store = await stores.fresh();
      const dirs = [
        mkdtempSync(join(tmpdir(), 'provably-cwd-a-')),
        mkdtempSync(join(tmpdir(), 'provably-cwd-b-')),
      ];
      const ids: string[] = [];
      for (const cwd of dirs) {
        const res = await cliIn(cwd, ['keys', 'show', '--json'], store.env());
        expect(res.code, res.stderr).toBe(0);
        const info = JSON.parse(res.stdout);
        expect(info.location).toBe(
          join(store.settings.XDG_CONFIG_HOME as string, 'provably', 'signing-key.pem'),
        );
        ids.push(info.key_id);
        expect(existsSync(join(cwd, '.provably'))).toBe(false);
      }
      expect(ids[0]).toBe(ids[1]);
      // An agent run elsewhere signs (at SIGTERM) with that same key: verify from a third place is 0.
      await store.trust(`${server.url}/json`);
      const agent = startAgent('short-lived.mjs', {
        env: store.env({ TRUSTED: server.url }),
        args: ['wait', '1'],
        allowFailure: true,
      });
      await agent.next('called');
      agent.process.kill('SIGTERM');
      await agent.done;
      const res = await cliIn(dirs[1] as string, ['verify', '--org', store.orgId, '--json'], store.env());
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout).latestVerified.key_id).toBe(ids[0]);
    });
  });
}

function cliIn(
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${process.cwd()}/dist/cli.js`, ...args], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The handoff across processes, end to end: an agent process under the real preload
 * (`node --import provably/register`, test/fixtures/handoff/agent.mjs) calls its tools inside
 * agentRun('run') + interceptContext against a local server, turns model-style claims into a
 * payload with buildHandoffPayload and POSTs it with postHandoff to `provably serve` running in
 * ANOTHER process, which answers PASS / CAUGHT.
 *
 * - PostgreSQL: serve shares the agent's database and runs in its default mode (every record is
 *   checked against the stored row and the org's registry); both use one PROVABLY_SIGNING_KEY.
 * - PGlite: an embedded data dir belongs to one process, so serve has its own data dir and runs
 *   `--independent --trusted-key <agent public key>` (judging by the payload alone); the agent's
 *   key is generated in its data dir by `provably keys show --json` before it starts.
 *
 * Then tampering: superuser edits of stored rows are caught by payloads rebuilt from the store
 * (and on PostgreSQL by the store check even for the original payload), and a random campaign of
 * edits/deletes (PROVABLY_TAMPER_CASES, default 50 per backend; PROVABLY_TAMPER_SEED replays one)
 * makes `provably verify` exit 1 every time while no payload touching an edited record ever
 * PASSes — neither the one handed over before the edit (with its bodies, or reading them from
 * the store) nor one rebuilt from the edited store.
 *
 * Last, the checkpoints the agent's runtime issues by itself (every N leaves, after T ms, at
 * beforeExit), with an unusable signing key and with the database gone before exit.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type EvaluationResult, evaluateHandoff, ledgerProofVerifier } from '../../src/eval/index.js';
import { buildHandoffPayload, type HandoffClaim, type HandoffPayload } from '../../src/handoff/index.js';
import { generateSigningKeyPem, loadSigner, type Signer, trustedKeysOf } from '../../src/ledger/index.js';
import type { Store } from '../../src/store/index.js';
import { clone, superuser } from '../fixtures/handoff/records.js';
import { type Serve, startServe } from '../fixtures/handoff/serve.js';
import { startTcpProxy } from '../fixtures/handoff/tcp-proxy.js';
import { startToolServer, type ToolServer } from '../fixtures/handoff/tool-server.js';
import { seedDataDir } from '../helpers/backends.js';
import { cleanEnv, runCli } from '../helpers/cli.js';
import { prng } from '../ledger/fixtures.js';
import { runAgent, since, startAgent } from './child.js';
import { describeE2E, type E2EStore, useE2EStores } from './stores.js';

const AGENT = '../handoff/agent.mjs'; // relative to test/fixtures/e2e (child.ts resolves there)
const TAMPER_CASES = Number(process.env.PROVABLY_TAMPER_CASES ?? '') || 50;

interface AgentResult {
  scenario: string;
  traceId: string;
  seen: { quote: { price: number }; customer: { name: string } } | unknown[];
  payload: HandoffPayload;
  unresolved: { index: number; action_name: string; reason: string }[];
  post?: { status: number; body: EvaluationResult & { evaluation_id: string } } | { error: unknown };
  status: { recorded: number; blocked: number };
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; body: EvaluationResult & { evaluation_id: string } }> {
  const res = await fetch(`${url}/handoffs/receive`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as EvaluationResult & { evaluation_id: string } };
}

const verdicts = (r: EvaluationResult) => r.per_claim.map((c) => `${c.action_name}:${c.verdict}:${c.check}`);

// ---------------------------------------------------------------------------------------------

let tools: ToolServer;
let tmp: string;
beforeAll(async () => {
  tools = await startToolServer();
  tmp = mkdtempSync(join(tmpdir(), 'provably-e2e-handoff-'));
});
afterAll(async () => {
  await tools?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describeE2E('handoff to an eval service in another process', (backend) => {
  const stores = useE2EStores(backend);
  let keyCounter = 0;

  /**
   * A fresh org/store for one test, with the tool endpoints trusted, the agent's signing key
   * settled, and `provably serve` started in another process for it.
   */
  async function setup(): Promise<{
    store: E2EStore;
    agentEnv: (extra?: Record<string, string>) => NodeJS.ProcessEnv;
    signer: () => Signer;
    pubKeyFile: string;
    serve: Serve;
  }> {
    const store = await stores.fresh();
    await store.trust(
      `${tools.url}/quote/{symbol}`,
      `${tools.url}/customer/{id}`,
      `${tools.url}/quote-text/{symbol}`,
    );
    const keyDir = mkdtempSync(join(tmp, 'keys-'));
    let keyEnv: Record<string, string> = {};
    if (backend === 'postgres') {
      // One key for the agent and the service: the service trusts its own installation's key.
      const keyFile = join(keyDir, `agent-${++keyCounter}.pem`);
      writeFileSync(keyFile, generateSigningKeyPem(), { mode: 0o600 });
      keyEnv = { PROVABLY_SIGNING_KEY: keyFile };
    }
    const agentEnv = (extra: Record<string, string> = {}) =>
      store.env({ TOOL_URL: tools.url, PROVABLY_CHECKPOINT_INTERVAL_MS: '200', ...keyEnv, ...extra });
    // The agent's public key, as an operator gets it (on PGlite this generates the data dir key
    // that the agent then uses).
    const shown = await runCli(['keys', 'show', '--json'], agentEnv());
    expect(shown.code, shown.stderr).toBe(0);
    const { key_id, public_key_pem } = JSON.parse(shown.stdout);
    const pubKeyFile = join(keyDir, `${key_id}.pub.pem`);
    writeFileSync(pubKeyFile, public_key_pem);

    let serve: Serve;
    if (backend === 'postgres') {
      serve = await startServe(
        cleanEnv({ PROVABLY_DATABASE_URL: store.settings.PROVABLY_DATABASE_URL as string, ...keyEnv }),
      );
    } else {
      const serveDir = join(mkdtempSync(join(tmp, 'serve-')), '.provably');
      await seedDataDir(serveDir, 'migrated');
      serve = await startServe(cleanEnv({ PROVABLY_DATA_DIR: serveDir }), [
        '--independent',
        '--trusted-key',
        pubKeyFile,
      ]);
    }
    return { store, agentEnv, signer: () => loadSigner({ env: agentEnv() }), pubKeyFile, serve };
  }

  it('honest claims → PASS from the service; the verdict is kept and readable by id', async () => {
    const t0 = performance.now();
    const { store, agentEnv, serve } = await setup();
    try {
      const run = await runAgent<AgentResult>(AGENT, {
        env: agentEnv({ EVAL_URL: serve.url }),
        args: ['honest'],
      });
      const r = run.result;
      expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(r.unresolved).toEqual([]);
      expect(r.payload.run_id).toBe(r.traceId);
      expect(r.payload.claims).toHaveLength(4);
      expect(r.post && 'status' in r.post ? r.post.status : r.post).toBe(200);
      const verdict = (r.post as { body: EvaluationResult & { evaluation_id: string } }).body;
      expect(verdict.outcome, JSON.stringify(verdict)).toBe('PASS');
      expect(verdicts(verdict)).toEqual([
        'get_quote:PASS:value',
        'get_quote:PASS:range',
        'get_customer:PASS:value',
        'get_customer:PASS:schema',
      ]);

      // Pinned to this run's rows, which are exactly what went over the wire.
      const rows = await store.rows();
      expect(rows).toHaveLength(2);
      expect(rows.every((row) => row.traceId === r.traceId)).toBe(true);
      const byAction = new Map(rows.map((row) => [row.actionName, row]));
      for (const claim of r.payload.claims) {
        expect(claim.query_record_id).toBe(byAction.get(claim.action_name)?.id);
        const wire = Buffer.from(claim.proof.response_body as string, 'base64');
        expect(createHash('sha256').update(wire).digest('hex')).toBe(
          byAction.get(claim.action_name)?.bodySha256,
        );
      }
      expect(byAction.get('get_customer')?.contentEncoding).toBe('gzip');

      const stored = await getJson(`${serve.url}/evaluations/${verdict.evaluation_id}`);
      expect(stored.status).toBe(200);
      expect(stored.body).toMatchObject({
        org_id: store.orgId,
        run_id: r.traceId,
        outcome: 'PASS',
        claim_count: 4,
      });
      expect((await getJson(`${serve.url}/healthz`)).body).toEqual({ ok: true, store: backend });

      // `provably verify` agrees the agent's log is sound.
      const verify = await runCli(['verify', '--json'], agentEnv());
      expect(verify.code, verify.stdout).toBe(0);
      expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, treeSize: 2 });
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    // The service logs one JSON object per line, and logged this evaluation.
    const logs = serve
      .stderr()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
    expect(logs.some((d) => d.msg === 'evaluated' && d.outcome === 'PASS' && d.org_id === store.orgId)).toBe(
      true,
    );
    console.log(`[${backend}] honest handoff round trip: ${since(t0)} ms`);
  }, 120_000);

  it('a tool that lies to its caller (setInterceptBodyHook) → CAUGHT (value): the record keeps the truth', async () => {
    const { store, agentEnv, serve } = await setup();
    try {
      const run = await runAgent<AgentResult>(AGENT, {
        env: agentEnv({ EVAL_URL: serve.url, LIE_PRICE: '999.99' }),
        args: ['lie'],
      });
      const r = run.result;
      expect((r.seen as { quote: { price: number } }).quote.price).toBe(999.99); // what the caller saw
      const verdict = (r.post as { body: EvaluationResult }).body;
      expect(verdict.outcome).toBe('CAUGHT');
      expect(verdicts(verdict)).toEqual([
        'get_quote:CAUGHT:value',
        'get_quote:CAUGHT:value',
        'get_customer:PASS:value',
        'get_customer:PASS:schema',
      ]);
      expect(verdict.per_claim[0]).toMatchObject({ claimed_value: '999.99', indexed_value: '101.5' });
      const quote = (await store.rows({ actionName: 'get_quote' }))[0];
      expect(JSON.parse(Buffer.from(quote?.responseBody ?? []).toString('utf8')).price).toBe(101.5);
    } finally {
      await serve.stop();
    }
  }, 120_000);

  it('a claim for an action that made no call in this run is reported unresolved, never pointed at another row', async () => {
    const { store, agentEnv, serve } = await setup();
    try {
      const run = await runAgent<AgentResult>(AGENT, {
        env: agentEnv({ EVAL_URL: serve.url }),
        args: ['unresolved'],
      });
      const r = run.result;
      // Another run of the same org did call send_email.
      const other = await store.rows({ actionName: 'send_email' });
      expect(other).toHaveLength(1);
      expect(other[0]?.traceId).not.toBe(r.traceId);

      expect(r.unresolved).toEqual([
        {
          index: 4,
          action_name: 'send_email',
          reason: expect.stringMatching(/made no recorded call in this run/),
        },
      ]);
      expect(r.payload.claims.map((c) => c.action_name)).toEqual([
        'get_quote',
        'get_quote',
        'get_customer',
        'get_customer',
      ]);
      expect(r.payload.claims.map((c) => c.query_record_id)).not.toContain(other[0]?.id);
      expect((r.post as { body: EvaluationResult }).body.outcome).toBe('PASS');

      // Naming the other run's record explicitly does not borrow it either.
      const built = await store.withStore((s) =>
        buildHandoffPayload(
          {
            claims: [
              {
                action_name: 'get_quote',
                verification_mode: 'field_extraction',
                json_path: '$.price',
                claimed_value: 101.5,
              },
              {
                action_name: 'send_email',
                verification_mode: 'verbatim',
                claimed_value: 'sent',
                query_record_id: other[0]?.id,
              },
            ],
          },
          {
            task: 'rebuild',
            traceId: r.traceId,
            orgId: store.orgId,
            store: s,
            signer: loadSigner({ env: agentEnv() }),
          },
        ),
      );
      expect(built.unresolved).toEqual([
        { index: 1, action_name: 'send_email', reason: expect.stringMatching(/belongs to another run/) },
      ]);
      expect(built.payload.claims).toHaveLength(1);
    } finally {
      await serve.stop();
    }
  }, 120_000);

  it('a superuser edit of a recorded row: a payload rebuilt from the store → CAUGHT (proof)', async () => {
    const { store, agentEnv, signer, serve } = await setup();
    try {
      const run = await runAgent<AgentResult>(AGENT, {
        env: agentEnv({ EVAL_URL: serve.url }),
        args: ['honest'],
      });
      const original = run.result.payload;
      expect((run.result.post as { body: EvaluationResult }).body.outcome).toBe('PASS');

      // A coherent forgery: another body, with its own digest and size.
      const forged = Buffer.from(
        JSON.stringify({ symbol: 'ACME', price: 5, currency: 'USD', as_of: '2025-01-02T03:04:05.000Z' }),
      );
      const quoteId = original.claims[0]?.query_record_id as string;
      const changed = await store.withStore((s) =>
        superuser(s, [
          [
            'UPDATE provably_intercepts SET response_body = $2, body_sha256 = $3, body_size = $4 WHERE id = $1',
            [quoteId, forged, createHash('sha256').update(forged).digest('hex'), forged.length],
          ],
        ]),
      );
      expect(changed).toBe(1);

      // The forger's payload, rebuilt from the store (claims that match the forged body).
      const rebuilt = await store.withStore((s) =>
        buildHandoffPayload(
          JSON.stringify({
            claims: [
              {
                action_name: 'get_quote',
                verification_mode: 'field_extraction',
                json_path: '$.price',
                claimed_value: 5,
              },
              {
                action_name: 'get_customer',
                verification_mode: 'field_extraction',
                json_path: '$.tier',
                claimed_value: 'gold',
              },
            ],
          }),
          {
            task: 'rebuilt after the edit',
            traceId: run.result.traceId,
            orgId: store.orgId,
            store: s,
            signer: signer(),
          },
        ),
      );
      const caught = await postJson(serve.url, rebuilt.payload);
      expect(caught.status).toBe(200);
      expect(caught.body.outcome).toBe('CAUGHT');
      expect(verdicts(caught.body)).toEqual(['get_quote:CAUGHT:proof', 'get_customer:PASS:value']);
      expect(caught.body.per_claim[0]?.reason).toMatch(/^proof: /);

      // The original payload: on PostgreSQL the service holds the store, and the stored row no
      // longer matches the proven record; an independent service judges the payload alone,
      // which is still the truth that was signed.
      const again = await postJson(serve.url, original);
      if (backend === 'postgres') {
        expect(again.body.outcome).toBe('CAUGHT');
        expect(again.body.per_claim[0]).toMatchObject({
          verdict: 'CAUGHT',
          check: 'proof',
          reason: 'proof: the record content differs from the stored row',
        });
      } else {
        expect(again.body.outcome).toBe('PASS');
      }

      // And the log says so.
      const verify = await runCli(['verify', '--json'], agentEnv());
      expect(verify.code).toBe(1);
      expect(JSON.parse(verify.stdout).firstBroken).toMatchObject({
        recordId: quoteId,
        kind: 'record-mismatch',
      });
    } finally {
      await serve.stop();
    }
  }, 120_000);

  it(`tamper campaign: ${TAMPER_CASES} random edits/deletes → provably verify exits 1 every time; no payload touching an edited record PASSes`, async () => {
    const t0 = performance.now();
    const { store, agentEnv, signer, pubKeyFile, serve } = await setup();
    await serve.stop(); // the campaign evaluates in this process and verifies with the CLI
    const calls = 12;
    const run = await runAgent<AgentResult>(AGENT, {
      env: agentEnv({ CALLS: String(calls) }),
      args: ['many'],
    });
    const payload = run.result.payload;
    expect(payload.claims).toHaveLength(calls);
    const ids = payload.claims.map((c) => c.query_record_id);
    const org = store.orgId;
    const trustedKeys = trustedKeysOf(readFileSync(pubKeyFile, 'utf8'));
    const single = (claim: HandoffClaim): HandoffPayload => ({ ...clone(payload), claims: [clone(claim)] });
    const bodiless = (claim: HandoffClaim): HandoffPayload => {
      const p = single(claim);
      (p.claims[0] as HandoffClaim).proof.response_body = null;
      return p;
    };
    const evaluate = (s: Store, p: HandoffPayload) =>
      evaluateHandoff(p, { trustedKeys, verifyProof: ledgerProofVerifier, store: s });

    // The pristine state, kept aside to restore before each case.
    const tag = `pristine_${createHash('sha256').update(org).digest('hex').slice(0, 8)}`;
    await store.withStore(async (s) => {
      await s.query(`CREATE TABLE ${tag}_i AS SELECT * FROM provably_intercepts WHERE org_id = $1`, [org]);
      await s.query(`CREATE TABLE ${tag}_l AS SELECT * FROM provably_ledger_leaves WHERE org_id = $1`, [org]);
      await s.query(`CREATE TABLE ${tag}_c AS SELECT * FROM provably_checkpoints WHERE org_id = $1`, [org]);
      // Sanity: every single-claim payload passes on the untouched store.
      for (const claim of payload.claims) {
        expect((await evaluate(s, single(claim))).outcome).toBe('PASS');
        expect((await evaluate(s, bodiless(claim))).outcome).toBe('PASS');
      }
    });
    const restore: [string, unknown[]][] = [
      ['DELETE FROM provably_intercepts WHERE org_id = $1', [org]],
      ['DELETE FROM provably_ledger_leaves WHERE org_id = $1', [org]],
      ['DELETE FROM provably_checkpoints WHERE org_id = $1', [org]],
      [`INSERT INTO provably_intercepts SELECT * FROM ${tag}_i`, []],
      [`INSERT INTO provably_ledger_leaves SELECT * FROM ${tag}_l`, []],
      [`INSERT INTO provably_checkpoints SELECT * FROM ${tag}_c`, []],
    ];
    const pristine = await runCli(['verify', '--json'], agentEnv());
    expect(pristine.code, pristine.stdout).toBe(0);

    const seed = Number(process.env.PROVABLY_TAMPER_SEED ?? '') || 0x7a3e;
    const rand = prng(seed);
    const kinds = new Map<string, number>();
    for (let k = 0; k < TAMPER_CASES; k++) {
      const target = Math.floor(rand() * calls);
      const id = ids[target] as string;
      const mutation = pickMutation(rand, ids, target, org);
      kinds.set(mutation.kind, (kinds.get(mutation.kind) ?? 0) + 1);
      const label = `case ${k} (seed ${seed}): ${mutation.kind} on record ${target}`;
      await store.withStore(async (s) => {
        await superuser(s, restore);
        const changed = await superuser(s, mutation.statements);
        expect(changed, label).toBeGreaterThan(0);
        if (!mutation.touchesRecord) return;
        // The payload handed over before the edit, judged against the edited store…
        const withBody = await evaluate(s, single(payload.claims[target] as HandoffClaim));
        expect(withBody.outcome, `${label}: ${JSON.stringify(withBody.per_claim[0])}`).not.toBe('PASS');
        const fromStoreBody = await evaluate(s, bodiless(payload.claims[target] as HandoffClaim));
        expect(fromStoreBody.outcome, `${label} (body from the store)`).not.toBe('PASS');
        // …and one rebuilt from the edited store now, if the builder still produces one.
        const { action_name, verification_mode, claimed_value } = payload.claims[target] as HandoffClaim;
        const rebuilt = await buildHandoffPayload(
          { claims: [{ action_name, verification_mode, claimed_value, query_record_id: id }] },
          { task: 'rebuilt', traceId: run.result.traceId, orgId: org, store: s, signer: signer() },
        ).then(
          (b) => b.payload,
          () => null,
        );
        if (rebuilt !== null)
          expect((await evaluate(s, rebuilt)).outcome, `${label} (rebuilt)`).not.toBe('PASS');
      });
      const verify = await runCli(['verify', '--json'], agentEnv());
      expect(verify.code, `${label}: ${verify.stdout}${verify.stderr}`).toBe(1);
      expect(JSON.parse(verify.stdout).ok, label).toBe(false);
    }
    // Restored, the log verifies again (the campaign did not break the setup itself).
    await store.withStore((s) => superuser(s, restore));
    expect((await runCli(['verify'], agentEnv())).code).toBe(0);
    console.log(
      `[${backend}] tamper campaign: ${TAMPER_CASES} cases in ${since(t0)} ms; ${JSON.stringify(Object.fromEntries(kinds))}`,
    );
  }, 3_600_000);
});

describeE2E('checkpoints the agent issues by itself', (backend) => {
  const stores = useE2EStores(backend);

  it('the runtime checkpoints by itself: every N leaves, after T ms idle, and at beforeExit', async () => {
    const store = await stores.fresh();
    await store.trust(`${tools.url}/quote/{symbol}`);
    const keyFile = join(mkdtempSync(join(tmp, 'keys-')), 'agent.pem');
    writeFileSync(keyFile, generateSigningKeyPem(), { mode: 0o600 });
    const base = { TOOL_URL: tools.url, PROVABLY_SIGNING_KEY: keyFile };

    // Every 3 leaves (no timer within the run): checkpoints during the run, then 7 at exit.
    const counted = await runAgent<{ treeSizes: number[] }>('../handoff/checkpoints.mjs', {
      env: store.env({ ...base, CALLS: '7', WAIT_MS: '300', PROVABLY_CHECKPOINT_EVERY: '3' }),
    });
    expect(counted.result.treeSizes.length).toBeGreaterThanOrEqual(2);
    expect(counted.result.treeSizes.every((n) => n >= 3 && n <= 7)).toBe(true);
    // After T ms with uncovered leaves (never 1000 of them): a checkpoint without anyone asking.
    const timed = await runAgent<{ treeSizes: number[] }>('../handoff/checkpoints.mjs', {
      env: store.env({ ...base, CALLS: '1', WAIT_MS: '1500', PROVABLY_CHECKPOINT_INTERVAL_MS: '100' }),
    });
    expect(timed.result.treeSizes.at(-1)).toBe(8);

    const verify = await runCli(['verify', '--json'], store.env({ PROVABLY_SIGNING_KEY: keyFile }));
    expect(verify.code, verify.stdout).toBe(0);
    const report = JSON.parse(verify.stdout);
    // The beforeExit checkpoint covered the first run's last leaves: every leaf is covered.
    expect(report).toMatchObject({ ok: true, treeSize: 8, uncheckpointedLeaves: 0 });
    expect(report.checkpoints).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it('a signing key that cannot be loaded never breaks the agent: calls are recorded, checkpoints wait', async () => {
    const store = await stores.fresh();
    await store.trust(`${tools.url}/quote/{symbol}`);
    const missing = join(tmp, 'no-such-key.pem');
    const run = await runAgent<{ treeSizes: number[]; status: { recorded: number } }>(
      '../handoff/checkpoints.mjs',
      {
        env: store.env({
          TOOL_URL: tools.url,
          PROVABLY_SIGNING_KEY: missing,
          CALLS: '2',
          WAIT_MS: '600',
          PROVABLY_CHECKPOINT_INTERVAL_MS: '50',
          PROVABLY_CHECKPOINT_EVERY: '1',
        }),
      },
    );
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain('@e2e-unhandled');
    expect(run.result).toMatchObject({ treeSizes: [], status: { recorded: 2 } });
    // Said once, with the reason, on stderr.
    expect(run.stderr.match(/could not issue a checkpoint/g)?.length).toBe(1);
    expect(run.stderr).toContain('no-such-key.pem');
    expect((await store.rows()).length).toBe(2);
  }, 120_000);

  if (backend === 'postgres') {
    it('the database gone before exit: the agent still exits promptly (the exit checkpoint is tried once)', async () => {
      const store = await stores.fresh();
      await store.trust(`${tools.url}/quote/{symbol}`);
      const db = new URL(store.settings.PROVABLY_DATABASE_URL as string);
      const proxy = await startTcpProxy(db.hostname, Number(db.port));
      const viaProxy = new URL(db);
      viaProxy.port = String(proxy.port);
      const keyFile = join(mkdtempSync(join(tmp, 'keys-')), 'agent.pem');
      writeFileSync(keyFile, generateSigningKeyPem(), { mode: 0o600 });
      const agent = startAgent<{ status: { recorded: number } }>('../handoff/checkpoints.mjs', {
        env: store.env({
          TOOL_URL: tools.url,
          PROVABLY_DATABASE_URL: viaProxy.toString(),
          PROVABLY_SIGNING_KEY: keyFile,
          CALLS: '2',
          WAIT_MS: '500',
          LIST: '0',
        }),
        // Finished within the usual exit grace: not retrying the checkpoint at every beforeExit.
        timeoutMs: 30_000,
      });
      await agent.next('called');
      await proxy.cut();
      const run = await agent.done;
      expect(run.code).toBe(0);
      expect(run.result.status.recorded).toBe(2);
      expect(run.stderr).toMatch(/could not issue a checkpoint for org .*; will retry/);
      // The rows were committed before the outage; only the checkpoint is missing.
      expect((await store.rows()).length).toBe(2);
      const verify = JSON.parse(
        (await runCli(['verify', '--json'], store.env({ PROVABLY_SIGNING_KEY: keyFile }))).stdout,
      );
      expect(verify).toMatchObject({ ok: true, treeSize: 2, checkpoints: 0, uncheckpointedLeaves: 2 });
    }, 60_000);
  }
});

// ---- mutations ---------------------------------------------------------------------------------

interface Mutation {
  kind: string;
  statements: [string, unknown[]][];
  /** The edit changes the record the payload's claim is about (not only the ledger's rows). */
  touchesRecord: boolean;
}

/** Column edits: each changes what the row says (never to the value it already holds). */
const COLUMN_EDITS: [string, string][] = [
  ['agent_id', `agent_id = agent_id || '-x'`],
  ['action_name', `action_name = action_name || '-x'`],
  ['intercept_index', 'intercept_index = coalesce(intercept_index, 0) + 1000'],
  ['trace_id', `trace_id = md5(coalesce(trace_id, '') || 'x')`],
  ['span_id', `span_id = substr(md5(coalesce(span_id, '') || 'x'), 1, 16)`],
  ['method', `method = CASE WHEN method = 'GET' THEN 'POST' ELSE 'GET' END`],
  ['url', `url = url || '?evil=1'`],
  ['status', 'status = coalesce(status, 0) + 1'],
  ['request_headers', `request_headers = request_headers || '{"x-forged":"1"}'::jsonb`],
  [
    'response_headers',
    `response_headers = coalesce(response_headers, '{}'::jsonb) || '{"x-forged":"1"}'::jsonb`,
  ],
  ['content_encoding', `content_encoding = CASE WHEN content_encoding IS NULL THEN 'br' ELSE NULL END`],
  ['body_sha256', `body_sha256 = md5(coalesce(body_sha256, '')) || md5(coalesce(body_sha256, '') || 'x')`],
  ['body_size', 'body_size = body_size + 1'],
  ['body_truncated', 'body_truncated = NOT body_truncated'],
  ['error', `error = coalesce(error, '') || 'x'`],
  ['started_at', `started_at = started_at - interval '1 second'`],
  ['duration_ms', 'duration_ms = coalesce(duration_ms, 0) + 1'],
];

function pickMutation(rand: () => number, ids: readonly string[], target: number, org: string): Mutation {
  const id = ids[target] as string;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const r = rand();
  if (r < 0.55) {
    const [column, set] = pick(COLUMN_EDITS);
    return {
      kind: `column:${column}`,
      statements: [[`UPDATE provably_intercepts SET ${set} WHERE id = $1`, [id]]],
      touchesRecord: true,
    };
  }
  if (r < 0.65) {
    return {
      kind: 'delete-record',
      statements: [['DELETE FROM provably_intercepts WHERE id = $1', [id]]],
      touchesRecord: true,
    };
  }
  if (r < 0.75) {
    // The body alone: one byte changed in place (same size, digest untouched).
    return {
      kind: 'body-bytes',
      statements: [
        [
          `UPDATE provably_intercepts SET response_body = set_byte(response_body, $2::int % octet_length(response_body),
             (get_byte(response_body, $2::int % octet_length(response_body)) + 1) % 256) WHERE id = $1`,
          [id, Math.floor(rand() * 1000)],
        ],
      ],
      touchesRecord: true,
    };
  }
  if (r < 0.82) {
    // A coherent forgery: a new body with its own digest and size.
    return {
      kind: 'forged-body',
      statements: [
        [
          `UPDATE provably_intercepts SET response_body = convert_to('{"forged":true}', 'UTF8'),
             body_sha256 = encode(sha256(convert_to('{"forged":true}', 'UTF8')), 'hex'), body_size = 15 WHERE id = $1`,
          [id],
        ],
      ],
      touchesRecord: true,
    };
  }
  if (r < 0.88) {
    return {
      kind: 'leaf-hash',
      statements: [
        [
          `UPDATE provably_ledger_leaves SET leaf_hash = set_byte(leaf_hash, 0, (get_byte(leaf_hash, 0) + 1) % 256)
           WHERE record_id = $1`,
          [id],
        ],
      ],
      touchesRecord: false,
    };
  }
  if (r < 0.92) {
    return {
      kind: 'leaf-delete',
      statements: [['DELETE FROM provably_ledger_leaves WHERE record_id = $1', [id]]],
      touchesRecord: false,
    };
  }
  if (r < 0.96) {
    // Two leaves swap their records (the rows themselves are untouched); in three steps, as
    // record_id is unique.
    const other = ids[(target + 1 + Math.floor(rand() * (ids.length - 1))) % ids.length] as string;
    const parked = '00000000-0000-4000-8000-00000000beef';
    const move = 'UPDATE provably_ledger_leaves SET record_id = $2 WHERE record_id = $1';
    return {
      kind: 'leaf-swap',
      statements: [
        [move, [id, parked]],
        [move, [other, id]],
        [move, [parked, other]],
      ],
      touchesRecord: false,
    };
  }
  return {
    kind: 'checkpoint-root',
    statements: [
      [
        `UPDATE provably_checkpoints SET root_hash = set_byte(root_hash, 3, (get_byte(root_hash, 3) + 1) % 256)
         WHERE id = (SELECT id FROM provably_checkpoints WHERE org_id = $1 ORDER BY tree_size DESC, "timestamp" DESC LIMIT 1)`,
        [org],
      ],
    ],
    touchesRecord: false,
  };
}

/**
 * The tamper campaign through `provably verify` and `evaluateHandoff` (issue #4): random direct
 * edits, deletes, reorders and inserts of stored rows, made as a database superuser would (the
 * append-only triggers off), on PGlite and PostgreSQL. Per case:
 *
 *  (1) `provably verify --org <org> --trusted-key <pem> --json` (the CLI's own command, run in
 *      this process: tamper-campaign-cli.ts) exits 1 with ok:false and names a problem for every
 *      org the edit declares broken, and exits 0 with ok:true for every other org;
 *  (2) evaluateHandoff, as a receiver holding the database would call it (store, trustedKeys,
 *      the ledger's proof verifier), of payloads built by buildHandoffPayload BEFORE the edit:
 *      a claim about a record whose row or stored leaf the edit changed is CAUGHT (with the body
 *      in the bundle and with the body left to the store), and so is the payload of all claims
 *      when it holds such a claim; a claim about a record whose row and leaf are untouched
 *      PASSes — its proof travels in the payload, signed, and the evaluator reads only that
 *      record's row and leaf, so an edit elsewhere cannot change what it proves (verify is
 *      what reports those);
 *  (3) a payload rebuilt AFTER the edit about the same record: when that record's row or its
 *      leaf changed, buildHandoffPayload refuses or the evaluator does not PASS it; otherwise
 *      the builder may refuse, and what it builds PASSes or — when the stored tree it builds the
 *      proof from was broken elsewhere — is CAUGHT (proof), never an ERROR.
 * What changed is measured on the rows (tamper-campaign-state.ts), never assumed: edits that
 * changed nothing are no-ops, tallied apart and asserted nowhere. The few edits no stored log can
 * detect by itself are declared with their documented limit (tamper-campaign-edits.ts), and
 * their outcome is asserted too: every org still verifies OK.
 *
 * A third org (DECISIONS) holds policy decisions and escalations (tamper-campaign-decisions.ts):
 * edits of those rows, their leaves and the escalation rows must be named by verify too.
 *
 * Every case runs in one transaction that is rolled back (a fresh store per case costs ~0.5 s on
 * PGlite); the pristine state is compared row by row every 100 cases and at the end.
 *
 * Cases per backend: EVAL_TAMPER_CASES (default 100; CI: 1000). A failure prints the case's seed
 * and edit; EVAL_TAMPER_SEED=<seed> replays that one case.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { evaluateHandoff, ledgerProofVerifier } from '../../src/eval/index.js';
import { buildHandoffPayload, type HandoffPayload } from '../../src/handoff/index.js';
import type { Store } from '../../src/store/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';
import { lit, prng } from '../ledger/fixtures.js';
import { runLedgerCommand } from './tamper-campaign-cli.js';
import { DECISIONS } from './tamper-campaign-decisions.js';
import { drawEdit, type Edit } from './tamper-campaign-edits.js';
import {
  type CampaignLog,
  type LoggedRecord,
  ORG,
  OTHER,
  PAYLOAD_SIZE,
  singleClaimPayload,
  TRACE,
  writeCampaignLog,
} from './tamper-campaign-fixture.js';
import {
  diffState,
  inRolledBackTransaction,
  installCampaignExec,
  type RowState,
  readState,
  type StateDiff,
} from './tamper-campaign-state.js';

const CASES = Number(process.env.EVAL_TAMPER_CASES ?? 100);
const ONLY_SEED = process.env.EVAL_TAMPER_SEED ? Number(process.env.EVAL_TAMPER_SEED) : undefined;
const FIRST_SEED = 7000;
const PROBLEM_KINDS = [
  'leaf-missing',
  'record-missing',
  'record-mismatch',
  'body-mismatch',
  'checkpoint-mismatch',
  'checkpoint-invalid',
  'record-unlogged',
  'escalation-mismatch',
];

describeEachBackend('evaluator tamper campaign', (backend) => {
  const store = useTestStore(backend);
  let log: CampaignLog;
  let pristine: RowState;
  let keyFile: string;
  let claimable: LoggedRecord[];

  beforeAll(async () => {
    await installCampaignExec(store().raw);
    log = await writeCampaignLog(store());
    pristine = await readState(store());
    claimable = log.records.filter((r) => r.kind === 'claimable' && r.index < PAYLOAD_SIZE);
    keyFile = join(mkdtempSync(join(tmpdir(), 'provably-campaign-')), 'trusted.pem');
    writeFileSync(keyFile, log.signer.publicKeyPem);
  });

  const evaluate = (payload: HandoffPayload, s: Store) =>
    evaluateHandoff(payload, { trustedKeys: log.trustedKeys, verifyProof: ledgerProofVerifier, store: s });

  const verify = async (s: Store, org: string) => {
    const run = await runLedgerCommand(s, ['verify', '--org', org, '--trusted-key', keyFile, '--json']);
    return { ...run, report: run.stdout ? JSON.parse(run.stdout) : null };
  };

  /** The payload about `rec` rebuilt from the store as it is now, or the builder's refusal. */
  const rebuild = (s: Store, rec: LoggedRecord) =>
    buildHandoffPayload(
      { claims: [log.modelClaims.get(rec.row.id)] },
      { task: 'rebuilt after the edit', traceId: TRACE, orgId: ORG, store: s, signer: log.signer },
    ).then(
      (built) => built.payload,
      (err: Error) => err,
    );

  it('the pristine state: both orgs verify; every payload PASSes, built before or rebuilt now', async () => {
    for (const org of [ORG, OTHER, DECISIONS]) {
      const { code, report } = await verify(store(), org);
      // The campaign's logs end with records no checkpoint covers yet: healthy but unsigned (3).
      expect(code).toBe(report.status === 'verified' ? 0 : 3);
      expect(report).toMatchObject({ ok: true, problemCount: 0, unloggedRecords: 0 });
      expect(report.status).not.toBe('broken');
    }
    expect(claimable).toHaveLength(14);
    expect((await evaluate(log.payload, store())).outcome).toBe('PASS');
    await inRolledBackTransaction(store(), async (tx) => {
      for (const rec of claimable) {
        expect((await evaluate(singleClaimPayload(log, rec.row.id), tx)).outcome).toBe('PASS');
        expect((await evaluate(singleClaimPayload(log, rec.row.id, true), tx)).outcome).toBe('PASS');
        const rebuilt = await rebuild(tx, rec);
        if (rebuilt instanceof Error) throw rebuilt;
        expect((await evaluate(rebuilt, tx)).outcome).toBe('PASS');
      }
    });
    expect(await readState(store())).toEqual(pristine);
  });

  it('measures what an edit changed: a no-op, created_at alone, a content change', async () => {
    const [failedA, failedB] = log.records.filter((r) => r.kind === 'failed') as [LoggedRecord, LoggedRecord];
    const diffOf = async (stmts: string[]): Promise<StateDiff> => {
      let diff: StateDiff | undefined;
      await inRolledBackTransaction(store(), async (tx) => {
        await tx.query('SELECT campaign_exec($1::text[])', [stmts]);
        diff = diffState(pristine, await readState(tx));
      });
      return diff as StateDiff;
    };
    // Two failed calls have no body: swapping their bodies changes no byte.
    const swap = `UPDATE provably_intercepts t SET response_body = s.response_body FROM provably_intercepts s
      WHERE (t.id, s.id) IN ((${lit(failedA.row.id)}::uuid, ${lit(failedB.row.id)}::uuid), (${lit(failedB.row.id)}::uuid, ${lit(failedA.row.id)}::uuid))`;
    expect(await diffOf([swap])).toMatchObject({ noop: true, metaOnly: false });
    const created = `UPDATE provably_intercepts SET created_at = created_at + interval '1 second' WHERE id = ${lit(failedA.row.id)}`;
    expect(await diffOf([created])).toMatchObject({ noop: false, metaOnly: true });
    const micro = `UPDATE provably_intercepts SET started_at = started_at + interval '1 microsecond' WHERE id = ${lit(failedA.row.id)}`;
    const diff = await diffOf([micro]);
    expect(diff).toMatchObject({ noop: false, metaOnly: false });
    expect([...diff.records]).toEqual([failedA.row.id]);
    expect([...diff.orgs]).toEqual([ORG]);
  });

  type CaseClass = 'must detect' | 'documented limit' | 'no-op';

  /** Runs one case, telling its class as soon as it is known; rejects with the first broken expectation. */
  async function runCase(
    seed: number,
    tally: (key: string) => void,
    classed: (c: CaseClass) => void,
  ): Promise<void> {
    const r = prng(seed);
    const edit: Edit = drawEdit(r, log);
    const focus =
      edit.target && claimable.includes(edit.target)
        ? edit.target
        : (claimable[Math.floor(r() * claimable.length)] as LoggedRecord);
    const where = `seed ${seed} (EVAL_TAMPER_SEED=${seed}): ${edit.name}; claim about record ${focus.index}\n  ${edit.stmts.join(';\n  ')}\n`;
    classed(edit.limit ? 'documented limit' : 'must detect');
    await inRolledBackTransaction(store(), async (tx) => {
      await tx.query('SELECT campaign_exec($1::text[])', [edit.stmts]);
      const diff = diffState(pristine, await readState(tx));
      if (diff.noop) {
        classed('no-op');
        return tally(`no-op (excluded): ${edit.kind}`);
      }

      // (1) provably verify, per org.
      expect(
        edit.broken.length > 0 || edit.limit !== undefined,
        `${where}an edit must declare what detects it`,
      ).toBe(true);
      // The decisions org is verified when a row of it changed, and in one case of ten otherwise
      // (verify reads one org's rows only; this keeps the campaign's time near its budget).
      const orgs =
        diff.orgs.has(DECISIONS) || edit.broken.includes(DECISIONS) || seed % 10 === 0
          ? [ORG, OTHER, DECISIONS]
          : [ORG, OTHER];
      for (const org of orgs) {
        const { code, report, stderr } = await verify(tx, org);
        const shown = `${where}verify --org ${org} → ${code}: ${JSON.stringify(report?.firstBroken)} ${stderr}`;
        if (edit.broken.includes(org)) {
          expect(diff.orgs.has(org), `${where}declared broken but no row of ${org} changed`).toBe(true);
          expect(code, shown).toBe(1);
          expect(report.ok, shown).toBe(false);
          expect(report.problemCount, shown).toBeGreaterThan(0);
          expect(PROBLEM_KINDS, shown).toContain(report.firstBroken?.kind);
          expect(report.firstBroken?.detail, shown).toMatch(/\S/);
        } else {
          // 0, or 3 when the org's newest records are not covered by a checkpoint (not a problem).
          expect(code, shown).toBe(report.status === 'verified' ? 0 : 3);
          expect(report.ok, shown).toBe(true);
        }
      }

      // (2) The payloads handed over before the edit.
      const touched = diff.records.has(focus.row.id);
      const leafTouched = diff.changed.has(`l:${ORG}:${focus.index}`);
      for (const bodiless of [false, true]) {
        const result = await evaluate(singleClaimPayload(log, focus.row.id, bodiless), tx);
        const shown = `${where}pre-edit payload${bodiless ? ' without body' : ''}: ${JSON.stringify(result.per_claim[0])}`;
        if (touched || leafTouched) {
          expect(result.outcome, shown).not.toBe('PASS');
          expect(result.per_claim[0], shown).toMatchObject({ verdict: 'CAUGHT', check: 'proof' });
        } else {
          expect(result.outcome, shown).toBe('PASS');
        }
      }
      // A payload holding an edited claim among untouched ones is CAUGHT as a whole. (Evaluated
      // only then: 14 claims per case would double the campaign's time for a PASS that the
      // single-claim checks above already show claim by claim.)
      if (!touched && [...log.claims.keys()].some((id) => diff.records.has(id))) {
        const all = await evaluate(log.payload, tx);
        expect(all.outcome, `${where}pre-edit payload of every claim`).toBe('CAUGHT');
        tally('payload of every claim CAUGHT by another edited claim');
      }

      // (3) The payload rebuilt now.
      const rebuilt = await rebuild(tx, focus);
      let rebuiltOutcome = 'refused';
      if (!(rebuilt instanceof Error)) {
        const result = await evaluate(rebuilt, tx);
        rebuiltOutcome = result.outcome;
        const shown = `${where}rebuilt payload: ${JSON.stringify(result.per_claim[0])}`;
        if (touched || leafTouched) expect(result.outcome, shown).not.toBe('PASS');
        else if (result.outcome !== 'PASS') {
          expect(result.per_claim[0], shown).toMatchObject({ verdict: 'CAUGHT', check: 'proof' });
          expect(result.per_claim[0]?.reason, shown).toMatch(/root-mismatch/);
        }
      }

      const verdict = edit.limit ? 'documented limit' : 'detected';
      const claim = touched || leafTouched ? `claimed ${touched ? 'row' : 'leaf'} edited` : 'claim untouched';
      tally(`${verdict}: ${edit.kind} | ${claim} | rebuilt ${rebuiltOutcome}`);
    }).catch((err: unknown) => {
      // Expectations carry the seed already; anything else (an SQL error…) gets it here.
      if (err instanceof Error && !err.message.includes('EVAL_TAMPER_SEED'))
        err.message = `${where}${err.message}`;
      throw err;
    });
  }

  // CASES counts the edits that must be detected; no-ops and documented limits come on top.
  it(`${ONLY_SEED === undefined ? CASES : 1} detectable random edits: verify reports each, no payload about an edited record PASSes`, async () => {
    const started = performance.now();
    const counts = new Map<string, number>();
    const tally = (key: string) => {
      counts.set(key, (counts.get(key) ?? 0) + 1);
    };
    const failures: string[] = [];
    let mustDetect = 0;
    let ran = 0;
    for (let seed = ONLY_SEED ?? FIRST_SEED; ; seed++) {
      let kind: CaseClass = 'must detect';
      try {
        await runCase(seed, tally, (c) => {
          kind = c;
        });
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
        tally('FAILED');
      }
      ran += 1;
      if (kind === 'must detect') mustDetect += 1;
      if (ran % 100 === 0) expect(await readState(store()), `restored after seed ${seed}`).toEqual(pristine);
      if (ONLY_SEED !== undefined || mustDetect >= CASES) break;
      expect(ran, 'too many cases without a detectable edit').toBeLessThan(2 * CASES + 10);
    }
    expect(await readState(store()), 'restored at the end').toEqual(pristine);
    const ms = Math.round(performance.now() - started);
    const total = (prefix: string) =>
      [...counts].filter(([key]) => key.startsWith(prefix)).reduce((s, [, n]) => s + n, 0);
    console.log(
      `[${backend.name}] ${ran} cases in ${ms} ms (${(ms / ran).toFixed(1)} ms/case): ` +
        `${total('detected')} detected, ${total('documented limit')} documented limits, ` +
        `${total('no-op')} no-ops, ${total('FAILED')} failed\n` +
        [...counts]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, n]) => `  ${String(n).padStart(4)}  ${key}`)
          .join('\n'),
    );
    expect(failures.slice(0, 10).join('\n\n'), `${failures.length} of ${ran} cases failed`).toBe('');
  }, 600_000);

  // Found by the campaign (left failing on purpose: src/eval and src/handoff need the fix).
  // The leaf binds started_at at millisecond precision and verifyLog flags stored sub-millisecond
  // digits (record-mismatch), but the evaluator's store check and the builder read the row
  // through getIntercept, whose Date drops them: the edited row looks like the proven record.
  it('a claimed record whose started_at was moved by 1 µs: verify reports it, and no payload PASSes', async () => {
    const rec = claimable[0] as LoggedRecord;
    await inRolledBackTransaction(store(), async (tx) => {
      await tx.query('SELECT campaign_exec($1::text[])', [
        [
          `UPDATE provably_intercepts SET started_at = started_at + interval '1 microsecond' WHERE id = ${lit(rec.row.id)}`,
        ],
      ]);
      const { code, report } = await verify(tx, ORG);
      expect(code).toBe(1);
      expect(report.firstBroken).toMatchObject({ kind: 'record-mismatch', leafIndex: rec.index });
      expect(report.firstBroken.detail).toContain('sub-millisecond');
      const before = await evaluate(singleClaimPayload(log, rec.row.id), tx);
      const rebuilt = await rebuild(tx, rec);
      const after = rebuilt instanceof Error ? null : await evaluate(rebuilt, tx);
      expect({ before: before.outcome, rebuilt: after?.outcome ?? 'refused' }).toEqual({
        before: 'CAUGHT',
        rebuilt: expect.not.stringMatching(/^PASS$/),
      });
    });
  });
});

// The built `provably` binary: policy check/test, audit list/show, escalations list/approve/reject
// — including an approval from ANOTHER process waking a waiting agent (PostgreSQL), and the
// embedded store's one-process limit (pinned).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProvablyGateway } from '../../src/policy/index.js';
import { openStore } from '../../src/store/index.js';
import { seedDataDir } from '../helpers/backends.js';
import { cliBackends, runCli } from '../helpers/cli.js';
import { PAYMENTS_POLICY, until } from '../policy/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'provably-policy-cli-'));
const policyFile = join(dir, 'payments.cedar');
writeFileSync(policyFile, PAYMENTS_POLICY);

describe('provably policy', () => {
  const env = { ...process.env, NO_COLOR: '1' };

  it('check: OK with the version; a broken file is refused with file:line:column and exit 2', async () => {
    const ok = await runCli(['policy', 'check', policyFile], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK .*version sha256:[0-9a-f]{64}/);
    const broken = join(dir, 'broken.cedar');
    writeFileSync(
      broken,
      'permit(principal, action, resource);\n// é\n@id("oops")\nforbid(principal, action, resource) when { 1 >> 2 };\n',
    );
    const bad = await runCli(['policy', 'check', broken], env);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toContain(`${broken}:4:47: [oops] parse:`);
  });

  it('check --schema: a policy that does not type-check is refused, naming it', async () => {
    const schema = join(dir, 'payments.cedarschema');
    writeFileSync(
      schema,
      `entity Agent; entity Tenant;
       action "pay" appliesTo { principal: Agent, resource: Tenant,
         context: { params: { amount: Long }, session: { id: String, allowed: Long, blocked: Long, escalated: Long }, now: datetime } };`,
    );
    const good = join(dir, 'typed.cedar');
    writeFileSync(
      good,
      'permit(principal, action == Action::"pay", resource) when { context.params.amount < 10 };',
    );
    expect((await runCli(['policy', 'check', good, '--schema', schema], env)).code).toBe(0);
    const typo = join(dir, 'typo.cedar');
    writeFileSync(
      typo,
      '@id("t")\npermit(principal, action == Action::"pay", resource) when { context.params.amt < 10 };',
    );
    const r = await runCli(['policy', 'check', typo, '--schema', schema, '--json'], env);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).problems[0]).toMatchObject({ policyId: 't', kind: 'validation', line: 2 });
  });

  it('test: prints the decision and reason, records nothing', async () => {
    const allow = await runCli(
      [
        'policy',
        'test',
        policyFile,
        '--action',
        'payments.initiate',
        '--params',
        '{"amount":50,"currency":"GBP"}',
        '--agent',
        'billing-agent',
      ],
      env,
    );
    expect(allow).toMatchObject({ code: 0 });
    expect(allow.stdout).toMatch(/^ALLOW: small payments are fine/);
    const esc = await runCli(
      [
        'policy',
        'test',
        policyFile,
        '--action',
        'payments.initiate',
        '--params',
        '{"amount":500,"currency":"GBP"}',
        '--agent',
        'billing-agent',
        '--json',
      ],
      env,
    );
    expect(JSON.parse(esc.stdout)).toMatchObject({ decision: 'ESCALATE', holdSeconds: 600 });
    const badParams = await runCli(['policy', 'test', policyFile, '--action', 'x', '--params', '{"a":'], env);
    expect(badParams.code).toBe(2);
    expect(badParams.stderr).toContain('--params');
  });
});

for (const backend of cliBackends()) {
  describe(`provably audit / escalations [${backend.name}]`, () => {
    const freshEnv = async () => {
      const fresh = await backend.env();
      // A copy of the migrated image: no initdb in this process (7–14 s on PGlite).
      if (fresh.env.PROVABLY_DATA_DIR) await seedDataDir(fresh.env.PROVABLY_DATA_DIR);
      return fresh;
    };

    it('audit list and show read what a gateway recorded; escalations are listed and decided', {
      timeout: 120_000,
    }, async () => {
      const { env, cleanup } = await freshEnv();
      try {
        const store = openStore({ env });
        const gateway = new ProvablyGateway({
          agentId: 'billing-agent',
          policy: PAYMENTS_POLICY,
          store,
          mode: 'enforce',
        });
        const allowed = await gateway.execute('payments.initiate', { amount: 10, currency: 'GBP' });
        await gateway.execute('payments.initiate', { amount: 10, currency: 'BTC' }, { throwOnBlock: false });
        const held = await gateway.execute(
          'payments.initiate',
          { amount: 300, currency: 'GBP' },
          { wait: false },
        );
        await gateway.close();
        await store.close(); // the embedded data dir belongs to one process at a time

        const list = await runCli(['audit', 'list', '--decision', 'BLOCK', '--json'], env);
        expect(list.code).toBe(0);
        const blocked = JSON.parse(list.stdout);
        expect(blocked).toHaveLength(1);
        expect(blocked[0]).toMatchObject({ decision: 'BLOCK', reason: 'crypto recipients are forbidden' });
        const show = await runCli(['audit', 'show', allowed.eventId], env);
        expect(show.code).toBe(0);
        expect(show.stdout).toContain('small payments are fine');
        expect(show.stdout).toMatch(/leaf \d+/);
        expect((await runCli(['audit', 'show', '00000000-0000-4000-8000-000000000000'], env)).code).toBe(1);

        const pending = JSON.parse(
          (await runCli(['escalations', 'list', '--status', 'pending', '--json'], env)).stdout,
        );
        expect(pending.map((e: { id: string }) => e.id)).toEqual([held.escalationId]);
        const wrongHash = await runCli(
          [
            'escalations',
            'approve',
            held.escalationId as string,
            '--reason',
            'ok',
            '--params-sha256',
            'ab'.repeat(32),
          ],
          env,
        );
        expect(wrongHash.code).toBe(1);
        expect(wrongHash.stderr).toContain('params');
        const approve = await runCli(
          [
            'escalations',
            'approve',
            held.escalationId as string,
            '--reason',
            'known',
            '--reviewer',
            'alice',
            '--params-sha256',
            pending[0].params_sha256,
          ],
          env,
        );
        expect(approve).toMatchObject({ code: 0 });
        expect(approve.stdout).toMatch(/^approved .* by alice/);
        const again = await runCli(
          ['escalations', 'reject', held.escalationId as string, '--reason', 'late'],
          env,
        );
        expect(again.code).toBe(1);
        expect(again.stderr).toContain('already approved');
      } finally {
        await cleanup();
      }
    });

    if (backend.name === 'postgres') {
      it('an approval by the CLI in another process wakes the waiting agent', async () => {
        const { env, cleanup } = await backend.env();
        const store = openStore({ env });
        const gateway = new ProvablyGateway({
          agentId: 'billing-agent',
          policy: PAYMENTS_POLICY,
          store,
          mode: 'enforce',
          pollMs: 60_000,
        });
        try {
          const waiting = gateway.execute('payments.initiate', { amount: 450, currency: 'GBP' });
          const id = await until(async () => {
            const r = await store.query<{ id: string }>(
              "SELECT id FROM provably_escalations WHERE status = 'pending'",
            );
            return r.rows[0]?.id;
          }, 'the pending escalation');
          // pollMs is 60 s: only LISTEN/NOTIFY can wake the waiter before the 600 s hold ends.
          const approve = await runCli(
            ['escalations', 'approve', id, '--reason', 'fine', '--reviewer', 'bob'],
            env,
          );
          expect(approve.code).toBe(0);
          const started = Date.now();
          const r = await waiting;
          expect(r).toMatchObject({ decision: 'ALLOW', actorHumanId: 'bob', escalationId: id });
          // Woken by the notification, well before the 600 s hold or the 60 s poll.
          expect(Date.now() - started).toBeLessThan(10_000);
        } finally {
          await gateway.close();
          await store.close();
          await cleanup();
        }
      });
    } else {
      it('residual limit: the embedded store belongs to one process, so the CLI cannot decide while the agent runs', async () => {
        const { env, cleanup } = await backend.env();
        const store = openStore({ env });
        const gateway = new ProvablyGateway({
          agentId: 'billing-agent',
          policy: PAYMENTS_POLICY,
          store,
          mode: 'enforce',
        });
        try {
          const held = await gateway.execute(
            'payments.initiate',
            { amount: 450, currency: 'GBP' },
            { wait: false },
          );
          const refused = await runCli(
            ['escalations', 'approve', held.escalationId as string, '--reason', 'x'],
            env,
          );
          expect(refused.code).toBe(1);
          expect(refused.stderr).toMatch(/locked/);
          expect(
            await gateway.escalationResult(held.escalationId as string).catch((e: Error) => e.name),
          ).toBe('EscalationError');
        } finally {
          await gateway.close();
          await store.close();
          await cleanup();
        }
      });
    }
  });
}

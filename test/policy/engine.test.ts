import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PolicySetError } from '../../src/errors/index.js';
import { type DecisionRequest, PolicyEngine } from '../../src/policy/engine.js';
import { locate } from '../../src/policy/policy-set.js';

const POLICY = `
@id("small-payments")
@reason("small payments are fine")
permit(principal, action == Action::"payments.initiate", resource)
  when { context.params.amount <= 100 };

@id("large-payments")
@escalate("payments over 100 need a human")
@hold("5")
permit(principal, action == Action::"payments.initiate", resource)
  when { context.params.amount > 100 };

@id("no-crypto")
@reason("crypto recipients are forbidden")
forbid(principal, action == Action::"payments.initiate", resource)
  when { context.params.currency == "BTC" };
`;

function req(params: Record<string, unknown>, action = 'payments.initiate'): DecisionRequest {
  return {
    agentId: 'billing-agent',
    action,
    tenant: 'default',
    params: params as DecisionRequest['params'],
    session: { id: 's', allowed: 0, blocked: 0, escalated: 0 },
  };
}

const engines: PolicyEngine[] = [];
function engine(
  policy: string,
  extra: Partial<ConstructorParameters<typeof PolicyEngine>[0]> = {},
): PolicyEngine {
  const e = new PolicyEngine({ policy, mode: 'enforce', ...extra });
  engines.push(e);
  return e;
}
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

describe('PolicyEngine decisions', () => {
  it('ALLOW with the permit reason, BLOCK by forbid, ESCALATE with hold, default deny', () => {
    const e = engine(POLICY);
    const allow = e.evaluate(req({ amount: 50, currency: 'GBP' }));
    expect(allow).toMatchObject({
      decision: 'ALLOW',
      reason: 'small payments are fine',
      policyIds: ['small-payments'],
    });
    expect(allow.policyVersion).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(e.evaluate(req({ amount: 50, currency: 'BTC' }))).toMatchObject({
      decision: 'BLOCK',
      reason: 'crypto recipients are forbidden',
      policyIds: ['no-crypto'],
    });
    expect(e.evaluate(req({ amount: 500, currency: 'GBP' }))).toMatchObject({
      decision: 'ESCALATE',
      reason: 'payments over 100 need a human',
      holdSeconds: 5,
    });
    expect(e.evaluate(req({ amount: 5 }, 'emails.send'))).toMatchObject({
      decision: 'BLOCK',
      reason: 'no policy permits this action (default deny)',
    });
  });

  it('a forbid whose condition errors (Cedar skips it) is a BLOCK, not an allow', () => {
    const e = engine(`
      @id("allow-all") permit(principal, action, resource);
      @id("no-big") forbid(principal, action, resource) when { context.params.amount > 1000 };
    `);
    // No `amount`: Cedar itself answers allow here (the erroring forbid is skipped).
    const d = e.evaluate(req({ currency: 'GBP' }));
    expect(d.decision).toBe('BLOCK');
    expect(d.reason).toContain('no-big');
    expect(d.reason).toContain('amount');
  });

  it('a type error in a permit is a BLOCK naming it', () => {
    const e = engine('@id("p") permit(principal, action, resource) when { context.params.amount < 10 };');
    const d = e.evaluate(req({ amount: 'ten' }));
    expect(d).toMatchObject({ decision: 'BLOCK', policyIds: ['p'] });
    expect(d.reason).toMatch(/policy error \(fail closed\): p:/);
  });

  it('params Cedar cannot hold exactly are a BLOCK; reserved keys cannot smuggle entities', () => {
    const e = engine('permit(principal, action, resource);');
    expect(e.evaluate(req({ amount: 0.123456 })).decision).toBe('BLOCK');
    const smuggled = e.evaluate(req({ who: { __entity: { type: 'Agent', id: 'root' } } }));
    expect(smuggled.decision).toBe('BLOCK');
    expect(smuggled.reason).toContain('__entity');
    expect(e.evaluate(req({ amount: 12.5, tags: ['a'], nested: { ok: true, gone: null } })).decision).toBe(
      'ALLOW',
    );
  });

  it('context.session, context.now and principal are visible to policies', () => {
    const e = engine(`
      permit(principal == Agent::"billing-agent", action, resource == Tenant::"default")
        when { context.session.blocked < 3 && context.now > datetime("2020-01-01T00:00:00Z") };
    `);
    expect(e.evaluate(req({})).decision).toBe('ALLOW');
    const r = req({});
    r.session.blocked = 3;
    expect(e.evaluate(r).decision).toBe('BLOCK');
    expect(e.evaluate({ ...req({}), agentId: 'other' }).decision).toBe('BLOCK');
  });

  it('log-only: per policy when every determining policy says so, or globally', () => {
    const e = engine(`
      @mode("log_only") @id("shadow-forbid") forbid(principal, action, resource) when { context.params.x == 1 };
      permit(principal, action, resource);
    `);
    expect(e.evaluate(req({ x: 1 }))).toMatchObject({ decision: 'BLOCK', mode: 'log_only' });
    expect(e.evaluate(req({ x: 2 }))).toMatchObject({ decision: 'ALLOW', mode: 'enforce' });
    const g = engine('forbid(principal, action, resource);', { mode: 'log_only' });
    expect(g.evaluate(req({}))).toMatchObject({ decision: 'BLOCK', mode: 'log_only' });
  });
});

describe('PolicyEngine loading', () => {
  it('refuses a bad set with policy id, line and column counted in characters (UTF-8 offsets converted)', () => {
    const text =
      'permit(principal, action, resource);\n// ééé ünïcödé\n@id("broken")\nforbid(principal, action, resource) when { context.x >> 1 };';
    let err: unknown;
    try {
      engine(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicySetError);
    const p = (err as PolicySetError).problems[0];
    expect(p).toMatchObject({ policyId: 'broken', line: 4, kind: 'parse' });
    // `>>`: the second `>` is the unexpected token, at character column 56 of line 4.
    expect(p?.column).toBe((text.split('\n')[3]?.indexOf('>>') as number) + 2);
  });

  it('locate converts byte offsets to characters', () => {
    expect(locate('é\néa', Buffer.byteLength('é\né'))).toEqual({ line: 2, column: 2 });
  });

  it('validates strictly against a schema, naming the policy and its line', () => {
    const schema = `entity Agent; entity Tenant;
      action "payments.initiate" appliesTo { principal: Agent, resource: Tenant,
        context: { params: { amount: Long }, session: { id: String, allowed: Long, blocked: Long, escalated: Long }, now: datetime } };`;
    engine(
      'permit(principal, action == Action::"payments.initiate", resource) when { context.params.amount < 5 };',
      { schema },
    );
    let err: unknown;
    try {
      engine(
        'permit(principal, action, resource);\n@id("typo")\npermit(principal, action == Action::"payments.initiate", resource) when { context.params.amonut < 5 };',
        { schema },
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicySetError);
    const p = (err as PolicySetError).problems.find((x) => x.policyId === 'typo');
    expect(p).toMatchObject({ kind: 'validation', line: 3 });
    expect(p?.message).toContain('amonut');
  });

  it('refuses bad annotations and duplicate ids', () => {
    expect(() => engine('@hold("soon") @escalate("x") permit(principal, action, resource);')).toThrow(
      PolicySetError,
    );
    expect(() => engine('@escalate("x") forbid(principal, action, resource);')).toThrow(
      /permit policies only/,
    );
    expect(() =>
      engine('@id("a") permit(principal, action, resource);\n@id("a") permit(principal, action, resource);'),
    ).toThrow(/duplicate policy id/);
  });

  it('hot-reloads a file; a broken edit is refused and the previous set keeps serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provably-policy-'));
    const file = join(dir, 'policy.cedar');
    writeFileSync(file, 'permit(principal, action, resource);');
    const e = engine(file, { watchIntervalMs: 50 });
    const v1 = e.version;
    expect(e.evaluate(req({})).decision).toBe('ALLOW');
    const reloaded = new Promise<{ ok: boolean }>((r) => e.onReload(r));
    writeFileSync(file, 'forbid(principal, action, resource);');
    expect((await reloaded).ok).toBe(true);
    expect(e.evaluate(req({})).decision).toBe('BLOCK');
    const v2 = e.version;
    expect(v2).not.toBe(v1);
    const refused = new Promise<{ ok: boolean }>((r) => e.onReload(r));
    writeFileSync(file, 'permit(principal, action, resource'); // broken
    expect((await refused).ok).toBe(false);
    expect(e.version).toBe(v2);
    expect(e.lastError).toBeInstanceOf(PolicySetError);
    expect(e.evaluate(req({})).decision).toBe('BLOCK');
  });
});

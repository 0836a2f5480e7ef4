/**
 * Context pruning (src/policy/context-reads.ts): the engine hands Cedar only the context
 * attributes the policies can read. The guarantee is that this never changes an answer, so a
 * corpus of policies is decided pruned and with the full context over many requests, and every
 * field of every decision must match.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { contextReadsOf } from '../../src/policy/context-reads.js';
import { type DecisionRequest, PolicyEngine } from '../../src/policy/engine.js';
import { compilePolicySet } from '../../src/policy/policy-set.js';

/** Each entry is one policy set; together they use context in every way the walker knows. */
const CORPUS: Record<string, string> = {
  params: `@id("p") permit(principal, action, resource) when { context.params.amount <= 100 };`,
  paramsIndex: `@id("p") permit(principal, action, resource) when { context["params"]["amount"] > 5 };`,
  hasPresentAbsent: `
    @id("has-params") permit(principal, action == Action::"a", resource) when { context has params };
    @id("has-nested") permit(principal, action == Action::"b", resource) when { context has params.amount };
    @id("has-deep") permit(principal, action == Action::"c", resource) when { context has params.inner.flag };
    @id("has-absent") forbid(principal, action, resource) when { context has nosuch };`,
  session: `
    @id("cap") permit(principal, action, resource) when { context.session.allowed < 3 };
    @id("no-blocked") forbid(principal, action, resource) unless { context.session.blocked == 0 };`,
  now: `@id("after") permit(principal, action, resource) when { context.now > datetime("2026-01-01T00:00:00Z") };`,
  wholeEquals: `@id("eq") permit(principal, action, resource) when { context == {} };`,
  wholeInSet: `@id("set") permit(principal, action, resource) when { [context].contains(context) };`,
  nested: `
    @id("nested") permit(principal, action, resource)
      when { context.params has inner && context.params.inner has flag && context.params.inner.flag };
    @id("tags") forbid(principal, action, resource) when { context.params has tags && context.params.tags.contains("x") };`,
  whenUnless: `
    @id("w") permit(principal, action, resource) when { context.params has amount } unless { context.params.amount > 50 };
    @id("u") forbid(principal, action, resource) unless { context.now < datetime("2030-01-01T00:00:00Z") };`,
  // A forbid whose condition errors (amount missing, or not a number) must still BLOCK.
  forbidErrors: `
    @id("all") permit(principal, action, resource);
    @id("big") @reason("too big") forbid(principal, action, resource) when { context.params.amount > 1000 };`,
  unknownAttr: `
    @id("all") permit(principal, action, resource);
    @id("ghost") forbid(principal, action, resource) when { context.ghost == 1 };`,
  logOnly: `
    @id("all") permit(principal, action, resource);
    @id("shadow") @mode("log_only") @reason("shadowed") forbid(principal, action, resource) when { context.params.amount > 10 };`,
  escalate: `
    @id("esc") @escalate("a human decides") @hold("30") permit(principal, action, resource)
      when { context.params has amount && context.params.amount > 10 && context.session.escalated < 2 };
    @id("small") permit(principal, action, resource) when { context.params has amount && context.params.amount <= 10 };`,
  decimalAndLike: `
    @id("d") permit(principal, action, resource)
      when { context.params has price && context.params.price.lessThan(decimal("9.99")) };
    @id("l") forbid(principal, action, resource) when { context.params has to && context.params.to like "*@evil.test" };`,
  ifThenElse: `@id("ite") permit(principal, action, resource)
      when { if context.params has amount then context.params.amount < 7 else context.session.allowed == 0 };`,
  scopeOnly: `@id("only-a") permit(principal == Agent::"a1", action, resource);`,
  mixed: `
    @id("p") permit(principal, action, resource) when { context.params has amount };
    @id("s") forbid(principal, action, resource) when { context.session.blocked > 1 };
    @id("n") forbid(principal, action, resource) when { context.now < datetime("2000-01-01T00:00:00Z") };`,
};

/** A deterministic request generator (no Math.random: a failure must reproduce). */
function requests(count: number): DecisionRequest[] {
  const paramsCorpus: unknown[] = [
    {},
    { amount: 5 },
    { amount: 50 },
    { amount: 5000 },
    { amount: 'lots' },
    { amount: 12.5 },
    { price: 3.5 },
    { price: 12.25 },
    { to: 'a@evil.test' },
    { to: 'a@good.test' },
    { inner: { flag: true } },
    { inner: { flag: false } },
    { inner: {} },
    { tags: ['x', 'y'] },
    { tags: ['y'] },
    { amount: null },
    // Refused by the conversion: the same BLOCK whether or not a policy reads params.
    { amount: 1.23456 },
    { __entity: { type: 'Agent', id: 'x' } },
    { nested: { __extn: { fn: 'ip', arg: '1.2.3.4' } } },
  ];
  const nows = [new Date('2025-06-01T00:00:00Z'), new Date('2026-06-01T00:00:00Z'), undefined];
  const out: DecisionRequest[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      agentId: i % 3 === 0 ? 'a1' : 'a2',
      action: ['a', 'b', 'c', 'pay'][i % 4] as string,
      tenant: 't',
      params: paramsCorpus[i % paramsCorpus.length] as DecisionRequest['params'],
      session: { id: `s${i % 5}`, allowed: i % 4, blocked: (i >> 1) % 3, escalated: (i >> 2) % 3 },
      now: nows[i % nows.length],
    });
  }
  return out;
}

const engines: PolicyEngine[] = [];
afterAll(() => {
  for (const e of engines) e.close();
});

describe('context pruning', () => {
  it.each(Object.entries(CORPUS))('%s: pruned and full context decide identically', (_name, text) => {
    const pruned = new PolicyEngine({ policy: text, mode: 'enforce', watch: false });
    const full = new PolicyEngine({ policy: text, mode: 'enforce', watch: false, pruneContext: false });
    engines.push(pruned, full);
    for (const r of requests(400)) {
      // `now` unset means "the current time": fix it per request so both engines see one instant.
      const req = { ...r, now: r.now ?? new Date() };
      const a = pruned.evaluate(req);
      const b = full.evaluate(req);
      expect(a).toEqual(b);
    }
  });

  it('the corpus exercises ALLOW, BLOCK (forbid, default deny, errors, refused input) and ESCALATE', () => {
    const reasons = new Set<string>();
    const decisions = new Set<string>();
    for (const text of Object.values(CORPUS)) {
      const e = new PolicyEngine({ policy: text, mode: 'enforce', watch: false });
      engines.push(e);
      for (const r of requests(100)) {
        const d = e.evaluate(r);
        decisions.add(d.decision);
        reasons.add(d.reason.split(':')[0] as string);
      }
    }
    expect([...decisions].sort()).toEqual(['ALLOW', 'BLOCK', 'ESCALATE']);
    expect(reasons).toContain('policy error (fail closed)');
    expect(reasons).toContain('policy input refused');
    expect(reasons).toContain('no policy permits this action (default deny)');
    expect(reasons).toContain('too big');
  });

  it('a forbid whose condition errors still blocks when the attribute is pruned away', () => {
    const e = new PolicyEngine({ policy: CORPUS.unknownAttr as string, mode: 'enforce', watch: false });
    engines.push(e);
    expect(e.reads('ghost')).toBe(true);
    const d = e.evaluate(requests(1)[0] as DecisionRequest);
    expect(d.decision).toBe('BLOCK');
    expect(d.policyIds).toEqual(['ghost']);
    expect(d.reason).toMatch(/fail closed/);
  });

  it('refused params block even when no policy reads params', () => {
    const e = new PolicyEngine({ policy: CORPUS.scopeOnly as string, mode: 'enforce', watch: false });
    engines.push(e);
    expect(e.reads('params')).toBe(false);
    const d = e.evaluate({ ...(requests(1)[0] as DecisionRequest), params: { x: 1.23456 } });
    expect(d.decision).toBe('BLOCK');
    expect(d.reason).toMatch(/^policy input refused: params\.x/);
  });

  it('finds exactly the attributes read; any other use of context reads everything', () => {
    const readsOf = (text: string) => compilePolicySet({ text, source: '<t>' }).contextReads;
    const sorted = (r: ReturnType<typeof readsOf>) => (r === 'all' ? 'all' : [...r].sort());
    expect(sorted(readsOf(CORPUS.params as string))).toEqual(['params']);
    expect(sorted(readsOf(CORPUS.paramsIndex as string))).toEqual(['params']);
    expect(sorted(readsOf(CORPUS.hasPresentAbsent as string))).toEqual(['nosuch', 'params']);
    expect(sorted(readsOf(CORPUS.session as string))).toEqual(['session']);
    expect(sorted(readsOf(CORPUS.now as string))).toEqual(['now']);
    expect(sorted(readsOf(CORPUS.scopeOnly as string))).toEqual([]);
    expect(sorted(readsOf(CORPUS.mixed as string))).toEqual(['now', 'params', 'session']);
    expect(sorted(readsOf(CORPUS.ifThenElse as string))).toEqual(['params', 'session']);
    for (const whole of [
      CORPUS.wholeEquals,
      CORPUS.wholeInSet,
      'permit(principal, action, resource) when { context is Foo };',
      'permit(principal, action, resource) when { context.hasTag("x") };',
      'permit(principal, action, resource) when { (if true then context else {}).params == {} };',
    ]) {
      expect(sorted(readsOf(whole as string))).toBe('all');
    }
  });

  it('the walker errs towards the whole context on shapes it does not know', () => {
    const sorted = (r: ReturnType<typeof contextReadsOf>) => (r === 'all' ? 'all' : [...r].sort());
    const ctx = { Var: 'context' };
    expect(sorted(contextReadsOf([{ conditions: [{ body: { '.': { left: ctx, attr: 'a' } } }] }]))).toEqual([
      'a',
    ]);
    // An attr that is not a string, an unknown operator on context, context beside other keys.
    expect(contextReadsOf([{ conditions: [{ body: { '.': { left: ctx, attr: 7 } } }] }])).toBe('all');
    expect(contextReadsOf([{ conditions: [{ body: { newOp: { left: ctx, attr: 'a' } } }] }])).toBe('all');
    expect(contextReadsOf([{ conditions: [{ body: { '.': { left: ctx, attr: 'a' }, x: 1 } }] }])).toBe('all');
    expect(contextReadsOf([{ principal: { op: '==', slot: ctx } }])).toBe('all');
  });
});

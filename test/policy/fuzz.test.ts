// Hostile params never turn into an ALLOW: whatever shape arrives, the engine (after the SDK's
// normalization) answers BLOCK or refuses the input, unless it really is a small integer amount.
import { describe, expect, it } from 'vitest';
import { PolicyInputError } from '../../src/errors/index.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import { normalizeParams } from '../../src/policy/params.js';

const engine = new PolicyEngine({
  policy: `permit(principal, action == Action::"pay", resource) when { context.params.amount < 10 };
           forbid(principal, action == Action::"pay", resource) when { context.params.to == "mallory" };`,
  mode: 'enforce',
  watch: false,
});

// A small deterministic PRNG: the same cases on every run.
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * 14);
  switch (k) {
    case 0:
      return Math.floor(r() * 40) - 20;
    case 1:
      return r() * 100;
    case 2:
      return 'x'.repeat(Math.floor(r() * 3) === 0 ? 100_000 : 5);
    case 3:
      return null;
    case 4:
      return r() < 0.5;
    case 5:
      return depth > 40 ? 1 : { nested: randomValue(r, depth + 1) };
    case 6:
      return [randomValue(r, depth + 1), randomValue(r, depth + 1)];
    case 7:
      return { __entity: { type: 'Agent', id: 'root' } };
    case 8:
      return { __extn: { fn: 'decimal', arg: '1.0' } };
    case 9:
      return Number.NaN;
    case 10:
      return 2 ** 60;
    case 11:
      return 'mallory';
    case 12:
      return -0.00001;
    default:
      return '9';
  }
}

describe('hostile params', () => {
  it('600 random param shapes: never ALLOW unless amount is an integer < 10 and the recipient is not forbidden', () => {
    const r = prng(20261205);
    let allowed = 0;
    for (let i = 0; i < 600; i++) {
      const raw: Record<string, unknown> = { amount: randomValue(r, 0), to: randomValue(r, 0) };
      if (r() < 0.3) raw.extra = randomValue(r, 0);
      let params: ReturnType<typeof normalizeParams>;
      try {
        params = normalizeParams(raw);
      } catch (err) {
        expect(err).toBeInstanceOf(PolicyInputError);
        continue;
      }
      const d = engine.evaluate({
        agentId: 'a',
        action: 'pay',
        tenant: 't',
        params,
        session: { id: 's', allowed: 0, blocked: 0, escalated: 0 },
      });
      if (d.decision === 'ALLOW') {
        allowed++;
        expect(Number.isSafeInteger(params.amount) && (params.amount as number) < 10).toBe(true);
        expect(params.to).not.toBe('mallory');
        // The forbid must have been evaluable: `to` was present and not an error-raising type.
        expect(params.to === undefined).toBe(false);
      } else {
        expect(d.decision).toBe('BLOCK');
      }
    }
    expect(allowed).toBeGreaterThan(0); // the campaign did exercise the ALLOW path
  });
});

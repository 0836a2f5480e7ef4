// outcomeFromTrace / aggregateOutcome / worstOutcome: the one rule for combining verdicts.
import { describe, expect, it } from 'vitest';
import { aggregateOutcome, evaluateHandoff, outcomeFromTrace, worstOutcome } from '../../src/eval/index.js';
import { claimAbout, payloadOf, recordCall, setup } from './fixture-ledger.js';

describe('worstOutcome', () => {
  it('is ERROR for nothing, CAUGHT over ERROR over PASS, unknown values count as ERROR', () => {
    expect(worstOutcome([])).toBe('ERROR');
    expect(worstOutcome(['PASS'])).toBe('PASS');
    expect(worstOutcome(['PASS', 'PASS'])).toBe('PASS');
    expect(worstOutcome(['PASS', 'ERROR'])).toBe('ERROR');
    expect(worstOutcome(['ERROR', 'CAUGHT', 'PASS'])).toBe('CAUGHT');
    expect(worstOutcome(['PASS', 'pass'])).toBe('ERROR');
    expect(worstOutcome(['PASS', null, undefined])).toBe('ERROR');
  });
});

describe('aggregateOutcome (Python SDK parity, stricter on empty input)', () => {
  it('combines verification_results of a payload', () => {
    expect(aggregateOutcome({ verification_results: ['PASS', 'PASS'] })).toBe('PASS');
    expect(aggregateOutcome({ verification_results: ['PASS', 'CAUGHT'] })).toBe('CAUGHT');
    expect(aggregateOutcome({ verification_results: ['PASS', 'ERROR'] })).toBe('ERROR');
    expect(aggregateOutcome({ verification_results: ['ERROR', 'CAUGHT'] })).toBe('CAUGHT');
  });

  it('is ERROR, never PASS, with nothing to aggregate', () => {
    expect(aggregateOutcome({ verification_results: [] })).toBe('ERROR');
    expect(aggregateOutcome({ verification_results: null })).toBe('ERROR');
    expect(aggregateOutcome({})).toBe('ERROR');
    expect(aggregateOutcome(null)).toBe('ERROR');
    expect(aggregateOutcome(undefined)).toBe('ERROR');
    expect(aggregateOutcome({ verification_results: 'PASS' } as never)).toBe('ERROR');
  });

  it('accepts verdicts directly', () => {
    expect(aggregateOutcome(['PASS'])).toBe('PASS');
    expect(aggregateOutcome(['CAUGHT', 'PASS'])).toBe('CAUGHT');
  });
});

describe('outcomeFromTrace', () => {
  it('reads the outcome of a real evaluation result, also after a JSON round trip', async () => {
    const { ledger, options } = setup();
    const call = recordCall(ledger, { body: { a: 1 } });
    const pass = await evaluateHandoff(
      payloadOf([claimAbout(ledger, call, { json_path: '$.a', claimed_value: 1 })]),
      options,
    );
    const caught = await evaluateHandoff(
      payloadOf([claimAbout(ledger, call, { json_path: '$.a', claimed_value: 2 })]),
      options,
    );
    const error = await evaluateHandoff(payloadOf([]), options);
    expect(outcomeFromTrace(pass)).toBe('PASS');
    expect(outcomeFromTrace(JSON.parse(JSON.stringify(pass)))).toBe('PASS');
    expect(outcomeFromTrace(caught)).toBe('CAUGHT');
    expect(outcomeFromTrace(error)).toBe('ERROR');
  });

  it('is null without an outcome', () => {
    for (const t of [null, undefined, 42, 'PASS', {}, { outcome: 'pass' }, { outcome: null }, []]) {
      expect(outcomeFromTrace(t)).toBeNull();
    }
  });

  it('never reads PASS over failing, missing or erroring claims', () => {
    expect(
      outcomeFromTrace({ outcome: 'PASS', per_claim: [{ verdict: 'PASS' }, { verdict: 'CAUGHT' }] }),
    ).toBe('CAUGHT');
    expect(outcomeFromTrace({ outcome: 'PASS', per_claim: [] })).toBe('ERROR');
    expect(
      outcomeFromTrace({ outcome: 'PASS', per_claim: [{ verdict: 'PASS' }], errors: [{ code: 'x' }] }),
    ).toBe('ERROR');
    expect(outcomeFromTrace({ outcome: 'PASS', per_claim: [null] })).toBe('ERROR');
    expect(outcomeFromTrace({ outcome: 'CAUGHT', per_claim: [{ verdict: 'PASS' }] })).toBe('CAUGHT');
    expect(outcomeFromTrace({ outcome: 'PASS' })).toBe('PASS');
  });

  it('never throws', () => {
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('boom');
        },
      },
    );
    expect(outcomeFromTrace(hostile)).toBeNull();
    expect(aggregateOutcome(hostile as never)).toBe('ERROR');
  });
});

// parseClaimsFromModel: model output → checked claims, or a typed error a model can act on.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProvablyError } from '../../src/errors/index.js';
import {
  type ModelClaimsFailure,
  ProvablyModelClaimsError,
  parseClaimsFromModel,
} from '../../src/handoff/index.js';

const CLAIM = {
  action_name: 'fetch_quote',
  verification_mode: 'field_extraction',
  json_path: '$.price',
  claimed_value: 101.5,
};

function failure(
  input: unknown,
  options?: Parameters<typeof parseClaimsFromModel>[1],
): ProvablyModelClaimsError {
  try {
    parseClaimsFromModel(input, options);
  } catch (err) {
    expect(err).toBeInstanceOf(ProvablyModelClaimsError);
    expect(err).toBeInstanceOf(ProvablyError);
    return err as ProvablyModelClaimsError;
  }
  throw new Error('expected a ProvablyModelClaimsError');
}

describe('parseClaimsFromModel: accepted shapes', () => {
  it('reads a bare array, a wrapper object, fenced text and parsed values', () => {
    expect(parseClaimsFromModel(JSON.stringify([CLAIM]))).toEqual({ claims: [CLAIM], fields: {} });
    const wrapped = { answer: 'ACME trades at 101.5', confidence: 'high', claims: [CLAIM] };
    expect(parseClaimsFromModel(JSON.stringify(wrapped))).toEqual({
      claims: [CLAIM],
      fields: { answer: 'ACME trades at 101.5', confidence: 'high' },
    });
    expect(
      parseClaimsFromModel(`\n\`\`\`json\n${JSON.stringify(wrapped, null, 2)}\n\`\`\`\n`).claims,
    ).toEqual([CLAIM]);
    expect(parseClaimsFromModel(`\`\`\`\n${JSON.stringify([CLAIM])}\n\`\`\``).claims).toEqual([CLAIM]);
    expect(parseClaimsFromModel(wrapped).fields).toEqual({
      answer: 'ACME trades at 101.5',
      confidence: 'high',
    });
    expect(parseClaimsFromModel({ claims: [] })).toEqual({ claims: [], fields: {} });
  });

  it('returns copies, and accepts nulls for optional fields and every mode', () => {
    const input = { claims: [{ ...CLAIM, range_min: null, query_record_id: null }] };
    const parsed = parseClaimsFromModel(input);
    (parsed.claims[0] as { action_name: string }).action_name = 'changed';
    expect(input.claims[0]?.action_name).toBe('fetch_quote');
    const all = [
      { action_name: 'a', verification_mode: 'verbatim', claimed_value: { x: 1 } },
      {
        action_name: 'a',
        verification_mode: 'schema_type',
        json_path: '$.x',
        expected_json_schema: { type: 'integer' },
      },
      {
        action_name: 'a',
        verification_mode: 'range_threshold',
        claimed_value: 3,
        range_min: 1,
        range_max: 3,
      },
    ];
    expect(parseClaimsFromModel(all).claims).toEqual(all);
  });
});

describe('parseClaimsFromModel: typed errors', () => {
  const cases: [string, unknown, ModelClaimsFailure, string][] = [
    ['prose', 'Here are my claims: none', 'not-json', ''],
    ['truncated JSON', '[{"action_name": "a"', 'not-json', ''],
    ['a number', '42', 'no-claims', ''],
    ['an object without claims', '{"answer": "x"}', 'no-claims', ''],
    ['claims not an array', '{"claims": {"action_name": "a"}}', 'invalid-claim', '/claims'],
    ['missing mode', '[{"action_name": "a", "claimed_value": 1}]', 'invalid-claim', '/0'],
    [
      'bad mode',
      '[{"action_name": "a", "verification_mode": "vibes", "claimed_value": 1}]',
      'invalid-claim',
      '/0/verification_mode',
    ],
    [
      'extra field',
      '{"claims": [{"action_name": "a", "verification_mode": "verbatim", "claimed_value": 1, "source": "x"}]}',
      'invalid-claim',
      '/claims/0',
    ],
    [
      'string for range',
      '[{"action_name": "a", "verification_mode": "range_threshold", "claimed_value": "5"}]',
      'invalid-claim',
      '/0/claimed_value',
    ],
    [
      'bad record id',
      '[{"action_name": "a", "verification_mode": "verbatim", "claimed_value": 1, "query_record_id": "rec-1"}]',
      'invalid-claim',
      '/0/query_record_id',
    ],
    [
      'invalid JSONPath',
      '[{"action_name": "a", "verification_mode": "field_extraction", "claimed_value": 1, "json_path": "data.price"}]',
      'invalid-json-path',
      '/0/json_path',
    ],
    [
      'invalid schema',
      '[{"action_name": "a", "verification_mode": "schema_type", "expected_json_schema": {"type": "strin"}}]',
      'invalid-claim',
      '/0/expected_json_schema',
    ],
    [
      'inverted range',
      '[{"action_name": "a", "verification_mode": "range_threshold", "claimed_value": 5, "range_min": 6, "range_max": 4}]',
      'invalid-claim',
      '/0',
    ],
  ];

  it.each(cases)('%s', (_, input, reason, path) => {
    const err = failure(input);
    expect(err.code).toBe('PROVABLY_MODEL_CLAIMS_INVALID');
    expect(err.reason).toBe(reason);
    expect(err.issues.length).toBeGreaterThan(0);
    expect(err.issues[0]?.path).toBe(path);
    expect(err.message).toContain(`(${reason})`);
  });

  it('refuses action names outside the allowed list, naming the allowed ones', () => {
    const err = failure([CLAIM, { ...CLAIM, action_name: 'invented' }], {
      actionNames: ['fetch_quote', 'rates'],
    });
    expect(err.reason).toBe('unknown-action');
    expect(err.issues).toEqual([
      { path: '/1/action_name', message: 'must be one of "fetch_quote", "rates"' },
    ]);
    expect(parseClaimsFromModel([CLAIM], { actionNames: ['fetch_quote'] }).claims).toHaveLength(1);
  });

  it('requires record ids when asked to', () => {
    const err = failure({ claims: [CLAIM] }, { requireRecordIds: true });
    expect(err.reason).toBe('missing-record-id');
    expect(err.issues[0]?.path).toBe('/claims/0/query_record_id');
    const withId = { ...CLAIM, query_record_id: '3f2b8c1e-4d5a-4b6c-9d7e-8f9a0b1c2d3e' };
    expect(parseClaimsFromModel([withId], { requireRecordIds: true }).claims).toEqual([withId]);
  });

  it('refuses values that are not JSON', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(failure(cyclic).reason).toBe('not-json');
    expect(failure(undefined).reason).toBe('not-json');
    expect(failure(10n).reason).toBe('not-json');
  });

  it('only ever throws ProvablyModelClaimsError, whatever the input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.jsonValue(), fc.anything()), (input) => {
        try {
          parseClaimsFromModel(input);
        } catch (err) {
          expect(err).toBeInstanceOf(ProvablyModelClaimsError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

// The four verification modes, end to end: real bundles from the fixture ledger, evaluated by
// evaluateHandoff, one claim at a time.
import { brotliCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { evaluateHandoff } from '../../src/eval/index.js';
import type { JsonValue, ModelClaim } from '../../src/handoff/index.js';
import { type CallSpec, claimAbout, payloadOf, recordCall, setup } from './fixture-ledger.js';

const QUOTE = {
  symbol: 'ACME',
  price: 101.5,
  volume: 1200,
  tags: ['tech', 'nyse'],
  nested: {
    deep: {
      deeper: [
        { id: 1, v: 'one' },
        { id: 2, v: 'two' },
      ],
    },
  },
  flags: { active: true, halted: false, note: null },
  zero: 0,
  negzero: -0,
  big: 1e21,
  tiny: 5e-324,
  float: 0.1,
  text: 'héllo "quoted" \u2028 ✓',
};

async function evaluateOne(fields: Partial<ModelClaim>, spec: CallSpec = { body: QUOTE }) {
  const { ledger, options } = setup();
  const call = recordCall(ledger, spec);
  const result = await evaluateHandoff(payloadOf([claimAbout(ledger, call, fields)]), options);
  expect(result.per_claim).toHaveLength(1);
  const claim = result.per_claim[0];
  if (claim === undefined) throw new Error('no claim');
  expect(result.outcome).toBe(claim.verdict);
  return claim;
}

describe('verbatim', () => {
  it('passes the whole JSON body in any key order and formatting (RFC 8785 equality)', async () => {
    const reordered = Object.fromEntries(Object.entries(QUOTE).reverse());
    const c = await evaluateOne({ verification_mode: 'verbatim', claimed_value: reordered });
    expect(c).toMatchObject({ verdict: 'PASS', check: 'value', json_path: '$' });
  });

  it('passes the exact body text as a string, and a JSON path slice', async () => {
    const text = JSON.stringify(QUOTE, null, 2);
    expect(
      (await evaluateOne({ verification_mode: 'verbatim', claimed_value: text }, { body: text })).verdict,
    ).toBe('PASS');
    const slice = await evaluateOne({
      verification_mode: 'verbatim',
      json_path: '$.nested.deep',
      claimed_value: QUOTE.nested.deep,
    });
    expect(slice.verdict).toBe('PASS');
  });

  it('catches a changed, added or missing field anywhere in the body', async () => {
    for (const claimed of [
      { ...QUOTE, price: 101.51 },
      { ...QUOTE, extra: 1 },
      { ...QUOTE, nested: { deep: { deeper: [{ id: 1, v: 'one' }] } } },
      { ...QUOTE, tags: ['nyse', 'tech'] },
      { ...QUOTE, zero: '0' },
      { ...QUOTE, flags: { active: true, halted: false } },
    ]) {
      const c = await evaluateOne({ verification_mode: 'verbatim', claimed_value: claimed });
      expect(c).toMatchObject({ verdict: 'CAUGHT', check: 'value' });
    }
  });

  it('compares a non-JSON body as exact UTF-8 text', async () => {
    const spec = { body: 'plain text answer\n', raw: Buffer.from('plain text answer\n') };
    expect(
      (await evaluateOne({ verification_mode: 'verbatim', claimed_value: 'plain text answer\n' }, spec))
        .verdict,
    ).toBe('PASS');
    const off = await evaluateOne(
      { verification_mode: 'verbatim', claimed_value: 'plain text answer' },
      spec,
    );
    expect(off).toMatchObject({ verdict: 'CAUGHT', check: 'value', indexed_value: '"plain text answer\\n"' });
    const path = await evaluateOne(
      { verification_mode: 'verbatim', claimed_value: 'x', json_path: '$.a' },
      spec,
    );
    expect(path).toMatchObject({ verdict: 'CAUGHT', check: 'path' });
  });

  it('treats a JSON scalar body as JSON, and also accepts its exact text', async () => {
    const spec = { raw: Buffer.from('42') };
    expect((await evaluateOne({ verification_mode: 'verbatim', claimed_value: 42 }, spec)).verdict).toBe(
      'PASS',
    );
    expect((await evaluateOne({ verification_mode: 'verbatim', claimed_value: '42' }, spec)).verdict).toBe(
      'PASS',
    );
    expect((await evaluateOne({ verification_mode: 'verbatim', claimed_value: 42.1 }, spec)).verdict).toBe(
      'CAUGHT',
    );
  });
});

describe('field_extraction', () => {
  it('passes equal values at nested paths, array indexes and with bracket notation', async () => {
    for (const [path, value] of [
      ['$.price', 101.5],
      ['$.symbol', 'ACME'],
      ['$.nested.deep.deeper[1].v', 'two'],
      ["$['nested']['deep']['deeper'][0]", { v: 'one', id: 1 }],
      ['$.tags[-1]', 'nyse'],
      ['$.flags.note', null],
      ['$.flags.halted', false],
      ['$.text', QUOTE.text],
    ] as const) {
      const c = await evaluateOne({ json_path: path, claimed_value: value });
      expect(c, path).toMatchObject({ verdict: 'PASS', check: 'value', json_path: path });
    }
  });

  it('catches different values, including type changes', async () => {
    for (const [path, value] of [
      ['$.price', 101.4],
      ['$.price', '101.5'],
      ['$.symbol', 'acme'],
      ['$.flags.note', 'null'],
      ['$.flags.halted', 0],
      ['$.tags', ['tech']],
    ] as [string, JsonValue][]) {
      const c = await evaluateOne({ json_path: path, claimed_value: value });
      expect(c, path).toMatchObject({ verdict: 'CAUGHT', check: 'value' });
    }
  });

  it('compares several selected nodes as the list of their values, in document order', async () => {
    const c = await evaluateOne({ json_path: '$.nested.deep.deeper[*].id', claimed_value: [1, 2] });
    expect(c).toMatchObject({ verdict: 'PASS', indexed_value: '[1,2]' });
    expect(
      (await evaluateOne({ json_path: '$.nested.deep.deeper[*].id', claimed_value: [2, 1] })).verdict,
    ).toBe('CAUGHT');
    expect((await evaluateOne({ json_path: '$..v', claimed_value: ['one', 'two'] })).verdict).toBe('PASS');
    // One selected node compares as the value itself, whatever the query's form.
    expect(
      (await evaluateOne({ json_path: '$.nested..deeper[?@.id==2].v', claimed_value: 'two' })).verdict,
    ).toBe('PASS');
  });

  it('is CAUGHT when the path selects nothing', async () => {
    const c = await evaluateOne({ json_path: '$.nested.missing', claimed_value: null });
    expect(c).toMatchObject({ verdict: 'CAUGHT', check: 'path' });
    expect(c.reason).toContain('path selects nothing');
    expect((await evaluateOne({ json_path: '$.tags[5]', claimed_value: 'x' })).verdict).toBe('CAUGHT');
  });

  it('is ERROR for an invalid JSONPath', async () => {
    for (const path of ['price', '$.', '$[', '$..', "$['a'", '$[?@.a=1]']) {
      const c = await evaluateOne({ json_path: path, claimed_value: 1 });
      expect(c, path).toMatchObject({ verdict: 'ERROR', check: 'path' });
      expect(c.reason).toMatch(/^invalid JSONPath/);
    }
  });

  it('compares numbers as doubles: -0 equals 0, 1e21 and tiny values exactly, floats exactly', async () => {
    expect((await evaluateOne({ json_path: '$.negzero', claimed_value: 0 })).verdict).toBe('PASS');
    expect((await evaluateOne({ json_path: '$.zero', claimed_value: -0 })).verdict).toBe('PASS');
    expect((await evaluateOne({ json_path: '$.big', claimed_value: 1e21 })).verdict).toBe('PASS');
    expect((await evaluateOne({ json_path: '$.big', claimed_value: 1e21 + 262144 })).verdict).toBe('CAUGHT');
    expect((await evaluateOne({ json_path: '$.tiny', claimed_value: 5e-324 })).verdict).toBe('PASS');
    expect((await evaluateOne({ json_path: '$.float', claimed_value: 0.1 })).verdict).toBe('PASS');
    expect((await evaluateOne({ json_path: '$.float', claimed_value: 0.1 + 5e-18 })).verdict).toBe('PASS'); // rounds to the same double
    expect(
      (await evaluateOne({ json_path: '$.float', claimed_value: 0.30000000000000004 - 0.2 })).verdict,
    ).toBe('CAUGHT');
  });

  it('shows long values bounded, with a truncation marker', async () => {
    const long = 'x'.repeat(5000);
    const c = await evaluateOne({ json_path: '$.s', claimed_value: 'y' }, { body: { s: long } });
    expect(c.verdict).toBe('CAUGHT');
    expect(c.indexed_value?.length).toBeLessThan(600);
    expect(c.indexed_value).toMatch(/…\[truncated, 5002 chars in all\]$/);
  });
});

describe('schema_type', () => {
  const schema = {
    type: 'object',
    required: ['id', 'v'],
    properties: { id: { type: 'integer', minimum: 1 }, v: { type: 'string' } },
    additionalProperties: false,
  };

  it('passes a value that satisfies the schema, ignoring claimed_value', async () => {
    const c = await evaluateOne({
      verification_mode: 'schema_type',
      json_path: '$.nested.deep.deeper[0]',
      expected_json_schema: schema,
      claimed_value: 'ignored',
    });
    expect(c).toMatchObject({ verdict: 'PASS', check: 'schema' });
    const list = await evaluateOne({
      verification_mode: 'schema_type',
      json_path: '$.nested.deep.deeper[*]',
      expected_json_schema: { type: 'array', items: schema, minItems: 2 },
    });
    expect(list.verdict).toBe('PASS');
    expect(
      (
        await evaluateOne({
          verification_mode: 'schema_type',
          expected_json_schema: true,
          json_path: '$.tags',
        })
      ).verdict,
    ).toBe('PASS');
  });

  it('catches a value that does not satisfy the schema', async () => {
    const c = await evaluateOne({
      verification_mode: 'schema_type',
      json_path: '$.price',
      expected_json_schema: { type: 'integer' },
    });
    expect(c).toMatchObject({ verdict: 'CAUGHT', check: 'schema' });
    expect(c.reason).toContain('must be integer');
    expect(
      (
        await evaluateOne({
          verification_mode: 'schema_type',
          json_path: '$.tags',
          expected_json_schema: false,
        })
      ).verdict,
    ).toBe('CAUGHT');
  });

  it('is ERROR for an invalid schema, an unknown keyword, a remote $ref or another draft', async () => {
    for (const bad of [
      { type: 'strin' },
      { type: 'integer', minimun: 3 },
      { $ref: 'https://example.com/schema.json' },
      { $schema: 'http://json-schema.org/draft-07/schema#', type: 'number' },
      { type: 'string', pattern: '(' },
    ]) {
      const c = await evaluateOne({
        verification_mode: 'schema_type',
        json_path: '$.price',
        expected_json_schema: bad,
      });
      expect(c, JSON.stringify(bad)).toMatchObject({ verdict: 'ERROR', check: 'schema' });
    }
  });

  it('does not check format (an annotation in draft 2020-12)', async () => {
    const c = await evaluateOne({
      verification_mode: 'schema_type',
      json_path: '$.symbol',
      expected_json_schema: { type: 'string', format: 'email' },
    });
    expect(c.verdict).toBe('PASS');
  });
});

describe('range_threshold', () => {
  const range = (claimed: number, min?: number | null, max?: number | null, path = '$.price') =>
    evaluateOne({
      verification_mode: 'range_threshold',
      json_path: path,
      claimed_value: claimed,
      ...(min === undefined ? {} : { range_min: min }),
      ...(max === undefined ? {} : { range_max: max }),
    });

  it('passes inside the range and at both inclusive edges', async () => {
    expect((await range(101.5, 100, 200)).verdict).toBe('PASS');
    expect((await range(101.5, 101.5, 101.5)).verdict).toBe('PASS');
    expect((await range(101.5, 101.5)).verdict).toBe('PASS');
    expect((await range(101.5, null, 101.5)).verdict).toBe('PASS');
    expect((await range(101.5)).verdict).toBe('PASS');
    expect((await range(0, -0, 0, '$.negzero')).verdict).toBe('PASS');
    expect((await range(-0, 0, 0, '$.zero')).verdict).toBe('PASS');
    expect((await range(1e21, 1e21, 1e21, '$.big')).verdict).toBe('PASS');
    expect((await range(5e-324, 0, 1e-323, '$.tiny')).verdict).toBe('PASS');
  });

  it('catches a value just outside either edge', async () => {
    const below = await range(101.5, 101.50000000000001);
    expect(below).toMatchObject({ verdict: 'CAUGHT', check: 'range' });
    expect(below.reason).toContain('below range_min');
    const above = await range(101.5, null, 101.49999999999999);
    expect(above).toMatchObject({ verdict: 'CAUGHT', check: 'range' });
    expect((await range(5e-324, null, 0, '$.tiny')).verdict).toBe('CAUGHT');
    expect((await range(1e21, null, 999999999999999900000, '$.big')).verdict).toBe('CAUGHT');
  });

  it('catches a claimed number that is not the recorded one, even inside the range', async () => {
    expect(await range(150, 100, 200)).toMatchObject({ verdict: 'CAUGHT', check: 'value' });
  });

  it('catches a recorded value that is not a number (no coercion of numeric strings)', async () => {
    const c = await evaluateOne(
      { verification_mode: 'range_threshold', json_path: '$.p', claimed_value: 5 },
      { body: { p: '5' } },
    );
    expect(c).toMatchObject({ verdict: 'CAUGHT', check: 'range' });
    expect((await range(1, 0, 2, '$.tags')).verdict).toBe('CAUGHT');
    expect((await range(1, 0, 2, '$.flags.active')).verdict).toBe('CAUGHT');
  });

  it('is ERROR when range_min is greater than range_max', async () => {
    expect(await range(101.5, 200, 100)).toMatchObject({ verdict: 'ERROR', check: 'claim' });
  });
});

describe('bodies', () => {
  it('decodes gzip, br, deflate and stacked encodings before comparing', async () => {
    for (const encoding of ['gzip', 'br', 'deflate', 'gzip, br']) {
      const ok = await evaluateOne(
        { json_path: '$.symbol', claimed_value: 'ACME' },
        { body: QUOTE, encoding },
      );
      expect(ok.verdict, encoding).toBe('PASS');
      const off = await evaluateOne(
        { json_path: '$.symbol', claimed_value: 'ACMF' },
        { body: QUOTE, encoding },
      );
      expect(off.verdict, encoding).toBe('CAUGHT');
    }
  });

  it('never compares against undecoded wire bytes', async () => {
    // Compressed bytes recorded without a content-encoding are not text: ERROR, never PASS.
    const c = await evaluateOne(
      { verification_mode: 'verbatim', claimed_value: QUOTE },
      { raw: brotliCompressSync(Buffer.from(JSON.stringify(QUOTE))) },
    );
    expect(c).toMatchObject({ verdict: 'ERROR', check: 'body' });
  });

  it('is ERROR for a truncated body, whatever the claim', async () => {
    for (const spec of [
      { body: QUOTE, keep: 10 },
      { body: QUOTE, encoding: 'gzip', keep: 20 },
    ]) {
      const c = await evaluateOne({ json_path: '$.symbol', claimed_value: 'ACME' }, spec);
      expect(c).toMatchObject({ verdict: 'ERROR', check: 'body' });
      expect(c.reason).toContain('truncated');
    }
  });

  it('is ERROR for a body that does not decode from its content-encoding', async () => {
    const { ledger, options } = setup();
    const call = recordCall(ledger, { raw: Buffer.from('not gzip at all') });
    call.record.content_encoding = 'gzip';
    // Re-append the edited record so its proof is valid: the record honestly says gzip.
    const honest = { ...call, index: ledger.append(call.record) };
    const result = await evaluateHandoff(
      payloadOf([claimAbout(ledger, honest, { json_path: '$.a', claimed_value: 1 })]),
      options,
    );
    expect(result.per_claim[0]).toMatchObject({ verdict: 'ERROR', check: 'body' });
    expect(result.per_claim[0]?.reason).toContain('undecodable body (corrupt)');
  });

  it('is ERROR for a body that is not UTF-8', async () => {
    const c = await evaluateOne(
      { verification_mode: 'verbatim', claimed_value: 'x' },
      { raw: Uint8Array.of(0xff, 0xfe, 0x00) },
    );
    expect(c).toMatchObject({ verdict: 'ERROR', check: 'body' });
  });

  it('is CAUGHT for a record without a response', async () => {
    const c = await evaluateOne({ json_path: '$.a', claimed_value: 1 }, { noResponse: true });
    expect(c).toMatchObject({ verdict: 'CAUGHT', check: 'body' });
    expect(c.reason).toContain('no response');
  });
});

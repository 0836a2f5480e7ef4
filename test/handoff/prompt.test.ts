// Prompt helpers: the text tells a model to emit exactly what the schema accepts.
import { describe, expect, it } from 'vitest';
import { ProvablyConfigError } from '../../src/errors/index.js';
import {
  claimContract,
  defaultInstructions,
  EXAMPLE_RECORD_ID,
  fieldDescriptions,
  handoffPayloadSchema,
  parseClaimsFromModel,
  validateHandoffPayload,
  validateModelClaims,
} from '../../src/handoff/index.js';
import { FixtureLedger, newSigningKey, ORG, payloadOf, recordCall } from '../eval/fixture-ledger.js';

const ACTIONS = ['fetch_quote', 'lookup "company" info', 'données_météo', 'rates'];

/** The example object at the end of the contract text. */
function exampleOf(text: string): Record<string, unknown> {
  const at = text.lastIndexOf('Example:\n');
  expect(at).toBeGreaterThan(0);
  return JSON.parse(text.slice(at + 'Example:\n'.length)) as Record<string, unknown>;
}

const claimFields = () =>
  Object.keys(
    (handoffPayloadSchema().$defs as { claim_fields: { properties: object } }).claim_fields.properties,
  );

describe('claimContract', () => {
  it('names every action and every wrapper field', () => {
    const text = claimContract({
      actionNames: ACTIONS,
      wrapperFields: { answer: 'Your answer to the task.' },
    });
    for (const name of ACTIONS) expect(text).toContain(JSON.stringify(name));
    expect(text).toContain('"answer": Your answer to the task.');
    for (const mode of ['verbatim', 'field_extraction', 'schema_type', 'range_threshold']) {
      expect(text).toContain(`"${mode}"`);
    }
  });

  it('carries an example that passes the schema and the parser, with and without indexing', () => {
    for (const provablyIndexing of [false, true]) {
      const text = claimContract({
        actionNames: ACTIONS,
        wrapperFields: { answer: 'a', notes: 'n' },
        provablyIndexing,
      });
      const example = exampleOf(text);
      expect(Object.keys(example)).toEqual(['answer', 'notes', 'claims']);
      expect(validateModelClaims(example.claims)).toMatchObject({ ok: true });
      const parsed = parseClaimsFromModel(JSON.stringify(example), {
        actionNames: ACTIONS,
        requireRecordIds: provablyIndexing,
      });
      expect(parsed.claims.map((c) => c.verification_mode).sort()).toEqual([
        'field_extraction',
        'range_threshold',
        'schema_type',
        'verbatim',
      ]);
      expect(parsed.claims.every((c) => (c.query_record_id === EXAMPLE_RECORD_ID) === provablyIndexing)).toBe(
        true,
      );
      expect(text.includes('"query_record_id"')).toBe(provablyIndexing);
    }
  });

  it('gives example claims that, with a proof attached, form a schema-valid payload', () => {
    const ledger = new FixtureLedger(ORG, newSigningKey());
    const call = recordCall(ledger, { body: { data: { price: 101.5, name: 'Example Corp', tags: ['x'] } } });
    const { claims } = parseClaimsFromModel(exampleOf(claimContract({ actionNames: ['fetch_quote'] })));
    const payload = payloadOf(
      claims.map((c) => ({
        ...c,
        query_record_id: call.record.id,
        proof: ledger.bundle(call.index, call.record, call.wire),
      })),
    );
    expect(validateHandoffPayload(payload)).toMatchObject({ ok: true });
  });

  it('is deterministic, and refuses an empty action list or a wrapper field named claims', () => {
    expect(claimContract({ actionNames: ACTIONS })).toBe(claimContract({ actionNames: [...ACTIONS] }));
    expect(() => claimContract({ actionNames: [] })).toThrow(ProvablyConfigError);
    expect(() => claimContract({ actionNames: [''] })).toThrow(ProvablyConfigError);
    expect(() => claimContract({ actionNames: ['a'], wrapperFields: { claims: 'x' } })).toThrow(
      ProvablyConfigError,
    );
  });

  it('keeps a wrapper field named __proto__ an ordinary field', () => {
    const wrapperFields = JSON.parse('{"__proto__": "odd but allowed"}') as Record<string, string>;
    const example = exampleOf(claimContract({ actionNames: ['a'], wrapperFields }));
    expect(Object.hasOwn(example, '__proto__')).toBe(true);
  });
});

describe('fieldDescriptions / defaultInstructions', () => {
  it('describes exactly the claim fields the schema defines (query_record_id only with indexing)', () => {
    const indexed = fieldDescriptions({ provablyIndexing: true });
    expect(Object.keys(indexed).sort()).toEqual(claimFields().sort());
    const plain = fieldDescriptions({ provablyIndexing: false });
    expect(Object.keys(plain).sort()).toEqual(
      claimFields()
        .filter((f) => f !== 'query_record_id')
        .sort(),
    );
    expect(Object.isFrozen(plain)).toBe(true);
    for (const text of Object.values(indexed)) expect(text.length).toBeGreaterThan(20);
  });

  it('tells the model what to do with record ids either way', () => {
    expect(defaultInstructions({ provablyIndexing: true })).toContain('query_record_id');
    expect(defaultInstructions({ provablyIndexing: false })).toContain('Do not write query_record_id');
    expect(defaultInstructions({ provablyIndexing: true })).toContain('CAUGHT');
  });
});

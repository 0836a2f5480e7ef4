// The published schema (schemas/handoff-payload.schema.json) and the runtime validators.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalPayloadJson,
  HANDOFF_PAYLOAD_SCHEMA_ID,
  type HandoffPayload,
  handoffPayloadSchema,
  ProvablyHandoffSchemaError,
  validateHandoffPayload,
  validateModelClaims,
} from '../../src/handoff/index.js';
import { claimAbout, payloadOf, recordCall, setup } from '../eval/fixture-ledger.js';

const published = JSON.parse(
  readFileSync(new URL('../../schemas/handoff-payload.schema.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

function validPayload(): HandoffPayload {
  const { ledger } = setup();
  const a = recordCall(ledger, { body: { price: 1 } });
  recordCall(ledger, { body: { price: 2 } });
  return payloadOf(
    [
      claimAbout(ledger, a, { json_path: '$.price', claimed_value: 1 }),
      claimAbout(ledger, a, { verification_mode: 'schema_type', expected_json_schema: { type: 'object' } }),
    ],
    { trusted_endpoints: ['https://api.example.com/v1/{rest:path}'] },
  );
}

const invalid = (p: unknown) => {
  const check = validateHandoffPayload(p);
  expect(check.ok).toBe(false);
  return check.ok ? [] : check.issues;
};

describe('the published schema', () => {
  it('is a valid draft 2020-12 schema that compiles in strict mode, and is the one used at run time', () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, logger: false });
    expect(ajv.validateSchema(published)).toBe(true);
    expect(() => ajv.compile(published)).not.toThrow();
    expect(published.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(published.$id).toBe(HANDOFF_PAYLOAD_SCHEMA_ID);
    expect(handoffPayloadSchema()).toEqual(published);
    // A copy: callers cannot change the validator's schema.
    (handoffPayloadSchema() as { title: string }).title = 'changed';
    expect(handoffPayloadSchema().title).toBe(published.title);
  });

  it('accepts a payload built from real bundles', () => {
    expect(validateHandoffPayload(validPayload())).toMatchObject({ ok: true });
  });

  it('requires the top-level fields and refuses unknown ones at every level', () => {
    for (const field of ['provably_org_id', 'task', 'run_id', 'claims']) {
      const p = validPayload() as unknown as Record<string, unknown>;
      delete p[field];
      expect(invalid(p)).toContainEqual({ path: '', message: `must have required property '${field}'` });
    }
    for (const path of [
      [],
      ['claims', 0],
      ['claims', 0, 'proof'],
      ['claims', 0, 'proof', 'record'],
      ['claims', 0, 'proof', 'checkpoint'],
    ]) {
      const edited = validPayload() as unknown as Record<string | number, unknown>;
      let at = edited;
      for (const k of path) at = at[k] as Record<string | number, unknown>;
      at.unexpected = 1;
      expect(
        invalid(edited).some((i) => i.message.includes('"unexpected"')),
        path.join('/'),
      ).toBe(true);
    }
  });

  it('enforces the per-mode requirements', () => {
    const base = { action_name: 'a' };
    expect(validateModelClaims([{ ...base, verification_mode: 'verbatim', claimed_value: null }]).ok).toBe(
      true,
    );
    expect(validateModelClaims([{ ...base, verification_mode: 'verbatim' }]).ok).toBe(false);
    expect(
      validateModelClaims([{ ...base, verification_mode: 'field_extraction', claimed_value: 1 }]).ok,
    ).toBe(false);
    expect(
      validateModelClaims([
        { ...base, verification_mode: 'field_extraction', claimed_value: 1, json_path: null },
      ]).ok,
    ).toBe(false);
    expect(validateModelClaims([{ ...base, verification_mode: 'schema_type' }]).ok).toBe(false);
    expect(
      validateModelClaims([{ ...base, verification_mode: 'schema_type', expected_json_schema: null }]).ok,
    ).toBe(false);
    expect(
      validateModelClaims([{ ...base, verification_mode: 'schema_type', expected_json_schema: true }]).ok,
    ).toBe(true);
    expect(
      validateModelClaims([{ ...base, verification_mode: 'range_threshold', claimed_value: '5' }]).ok,
    ).toBe(false);
    expect(
      validateModelClaims([
        { ...base, verification_mode: 'range_threshold', claimed_value: 5, range_min: null },
      ]).ok,
    ).toBe(true);
    expect(validateModelClaims([{ ...base, verification_mode: 'guess', claimed_value: 5 }]).ok).toBe(false);
  });

  it('accepts null for every optional field (Python SDK payloads)', () => {
    const p = validPayload();
    Object.assign(p, { trusted_endpoints: null, verification_results: null });
    Object.assign(p.claims[0] as object, { range_min: null, range_max: null, expected_json_schema: null });
    expect(validateHandoffPayload(p).ok).toBe(true);
  });

  it('checks hex, sizes and indexes', () => {
    const first = (p: HandoffPayload) => p.claims[0] as HandoffPayload['claims'][number];
    const cases: [string, (p: HandoffPayload) => void][] = [
      [
        'upper-case hex',
        (p) => {
          first(p).proof.checkpoint.root_hash = 'A'.repeat(64);
        },
      ],
      [
        'short signature',
        (p) => {
          first(p).proof.checkpoint.signature = 'ab';
        },
      ],
      [
        'hex signature',
        (p) => {
          first(p).proof.checkpoint.signature = 'ab'.repeat(64);
        },
      ],
      [
        'non-canonical base64 signature',
        (p) => {
          const sig = first(p).proof.checkpoint.signature;
          first(p).proof.checkpoint.signature = `${sig.slice(0, 85)}B==`;
        },
      ],
      [
        'timestamp with an offset',
        (p) => {
          first(p).proof.checkpoint.timestamp = '2025-01-02T03:04:05.000+00:00';
        },
      ],
      [
        'timestamp without milliseconds',
        (p) => {
          first(p).proof.record.started_at = '2025-01-02T03:04:05Z';
        },
      ],
      [
        'negative leaf index',
        (p) => {
          first(p).proof.leaf_index = -1;
        },
      ],
      [
        'fractional leaf index',
        (p) => {
          first(p).proof.leaf_index = 0.5;
        },
      ],
      [
        'zero tree size',
        (p) => {
          first(p).proof.checkpoint.tree_size = 0;
        },
      ],
      [
        'padded org',
        (p) => {
          p.provably_org_id = ' org';
        },
      ],
      [
        'bad record id',
        (p) => {
          first(p).query_record_id = 'not-a-uuid';
        },
      ],
      [
        'bad timestamp',
        (p) => {
          first(p).proof.record.started_at = 'yesterday';
        },
      ],
      [
        'no claims',
        (p) => {
          p.claims = [];
        },
      ],
    ];
    for (const [name, change] of cases) {
      const p = validPayload();
      change(p);
      expect(validateHandoffPayload(p).ok, name).toBe(false);
    }
  });

  it('handles very long strings without a regular-expression stack overflow', () => {
    const p = validPayload();
    const huge = Buffer.alloc(24 * 1024 * 1024, 7).toString('base64');
    (p.claims[0] as { proof: { response_body: string } }).proof.response_body = huge;
    expect(validateHandoffPayload(p).ok).toBe(true);
    p.provably_org_id = 'o'.repeat(5_000_000);
    expect(validateHandoffPayload(p).ok).toBe(false);
  });

  it('reports issues without the noise of if/then and unevaluated-property echoes', () => {
    const check = validateModelClaims([
      { action_name: 'a', verification_mode: 'range_threshold', claimed_value: '3' },
    ]);
    expect(check).toEqual({ ok: false, issues: [{ path: '/0/claimed_value', message: 'must be number' }] });
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        expect(validateHandoffPayload(v).ok).toBe(false);
        validateModelClaims(v);
      }),
      { numRuns: 300 },
    );
  });
});

describe('canonicalPayloadJson', () => {
  it('is the RFC 8785 text of a valid payload: sorted keys, no whitespace, stable', () => {
    const p = validPayload();
    const text = canonicalPayloadJson(p);
    expect(text).toBe(canonicalize(p));
    expect(text.startsWith('{"claims":[{"action_name":')).toBe(true);
    expect(JSON.parse(text)).toEqual(p);
    const reordered = Object.fromEntries(Object.entries(p).reverse()) as unknown as HandoffPayload;
    expect(canonicalPayloadJson(reordered)).toBe(text);
  });

  it('throws ProvablyHandoffSchemaError for an invalid payload or a lone surrogate', () => {
    const p = validPayload() as unknown as Record<string, unknown>;
    delete p.task;
    expect(() => canonicalPayloadJson(p as never)).toThrow(ProvablyHandoffSchemaError);
    try {
      canonicalPayloadJson(p as never);
    } catch (err) {
      expect(err).toMatchObject({
        code: 'PROVABLY_HANDOFF_INVALID',
        issues: [{ path: '', message: "must have required property 'task'" }],
      });
    }
    const lone = validPayload();
    lone.task = 'broken \ud800';
    expect(() => canonicalPayloadJson(lone)).toThrow(/RFC 8785/);
  });
});

describe('record content: leaf version 1 and 2', () => {
  const PEER = {
    leaf_kind: 'intercept',
    leaf_version: 2,
    peer_address: '127.0.0.1',
    peer_port: 443,
    peer_protocol: 'h2',
    peer_tls_cert_sha256: 'ab'.repeat(32),
    peer_tls_subject: 'CN=api.example.com',
    peer_tls_subject_alt_name: null,
    peer_proxy: null,
  };
  const withRecord = (edit: (record: Record<string, unknown>) => void): HandoffPayload => {
    const p = validPayload();
    for (const claim of p.claims) edit(claim.proof.record as unknown as Record<string, unknown>);
    return p;
  };

  it('accepts a version-1 record (no kind, version or peer) and a version-2 record (all of them)', () => {
    expect(validateHandoffPayload(withRecord(() => {})).ok).toBe(true);
    expect(validateHandoffPayload(withRecord((r) => Object.assign(r, PEER))).ok).toBe(true);
    const nulls = Object.fromEntries(
      Object.keys(PEER).map((k) => [k, k.startsWith('peer_') ? null : PEER[k as 'leaf_kind']]),
    );
    expect(validateHandoffPayload(withRecord((r) => Object.assign(r, nulls))).ok).toBe(true);
  });

  it('refuses a version-2 record missing any field, and peer fields on a version-1 record', () => {
    for (const key of Object.keys(PEER)) {
      invalid(
        withRecord((r) => {
          Object.assign(r, PEER);
          delete r[key];
        }),
      );
    }
    for (const key of Object.keys(PEER).filter((k) => k.startsWith('peer_'))) {
      invalid(withRecord((r) => Object.assign(r, { [key]: null })));
    }
  });

  it('refuses another kind, another version, and ill-typed peer values', () => {
    for (const bad of [
      { leaf_kind: 'decision' },
      { leaf_version: 1 },
      { leaf_version: 3 },
      { peer_port: 70000 },
      { peer_port: '443' },
      { peer_address: 7 },
      { peer_tls_cert_sha256: false },
    ]) {
      invalid(withRecord((r) => Object.assign(r, PEER, bad)));
    }
  });
});

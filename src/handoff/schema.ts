/**
 * Runtime validation against the published schema (schemas/handoff-payload.schema.json, JSON
 * Schema draft 2020-12). The validators are compiled once, on first use, and shared by the
 * sending side (canonicalPayloadJson, postHandoff, parseClaimsFromModel) and the receiving side
 * (evaluateHandoff).
 */
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import schemaJson from '../../schemas/handoff-payload.schema.json' with { type: 'json' };
import { MAX_SCHEMA_ISSUES, type SchemaIssue } from './errors.js';
import type { HandoffPayload, ModelClaim } from './types.js';

/** The `$id` of the published payload schema. */
export const HANDOFF_PAYLOAD_SCHEMA_ID = 'urn:provably:schema:handoff-payload:1';

/** A fresh copy of the published JSON Schema (draft 2020-12) of handoff payloads. */
export function handoffPayloadSchema(): Record<string, unknown> {
  return structuredClone(schemaJson) as Record<string, unknown>;
}

export type SchemaCheck<T> = { ok: true; value: T } | { ok: false; issues: SchemaIssue[] };

interface Validators {
  payload: ValidateFunction;
  modelClaims: ValidateFunction;
}

let validators: Validators | undefined;

function compiled(): Validators {
  if (validators === undefined) {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true, logger: false });
    ajv.addSchema(schemaJson as Record<string, unknown>);
    const get = (ref: string): ValidateFunction => {
      const fn = ajv.getSchema(ref);
      if (fn === undefined) throw new Error(`handoff schema: ${ref} is missing`);
      return fn;
    };
    validators = {
      payload: get(HANDOFF_PAYLOAD_SCHEMA_ID),
      modelClaims: get(`${HANDOFF_PAYLOAD_SCHEMA_ID}#/$defs/model_claims`),
    };
  }
  return validators;
}

/** Checks a value against the payload schema; never throws for any JSON-like input. */
export function validateHandoffPayload(value: unknown): SchemaCheck<HandoffPayload> {
  return run(compiled().payload, value) as SchemaCheck<HandoffPayload>;
}

/** Checks an array of model-emitted claims (claim fields only, no proofs). */
export function validateModelClaims(value: unknown): SchemaCheck<ModelClaim[]> {
  return run(compiled().modelClaims, value) as SchemaCheck<ModelClaim[]>;
}

function run(validate: ValidateFunction, value: unknown): SchemaCheck<unknown> {
  if (validate(value)) return { ok: true, value };
  return { ok: false, issues: toIssues(validate.errors ?? []) };
}

/**
 * Claim properties the schema defines. When a claim's fields fail, JSON Schema drops the
 * annotations of the failed `$ref`, so `unevaluatedProperties` also reports these; such reports
 * only repeat the real failure and are left out.
 */
const DEFINED_CLAIM_PROPERTIES: ReadonlySet<string> = new Set([
  ...Object.keys(schemaJson.$defs.claim_fields.properties),
  ...Object.keys(schemaJson.$defs.claim.properties),
]);

/**
 * ajv's errors as issues: the `if` wrappers that only repeat a nested failure and the echoes
 * described above are left out, duplicates are merged, and at most MAX_SCHEMA_ISSUES are kept.
 */
export function toIssues(errors: readonly ErrorObject[]): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword === 'if') continue;
    const unevaluated = (e.params as { unevaluatedProperty?: unknown }).unevaluatedProperty;
    if (typeof unevaluated === 'string' && DEFINED_CLAIM_PROPERTIES.has(unevaluated)) continue;
    let message = e.message ?? e.keyword;
    const params = e.params as Record<string, unknown>;
    if (typeof params.additionalProperty === 'string') {
      message += ` (${JSON.stringify(params.additionalProperty)})`;
    } else if (typeof params.unevaluatedProperty === 'string') {
      message += ` (${JSON.stringify(params.unevaluatedProperty)})`;
    } else if (Array.isArray(params.allowedValues)) {
      message += ` (${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')})`;
    }
    const key = `${e.instancePath}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path: e.instancePath, message });
    if (out.length >= MAX_SCHEMA_ISSUES) break;
  }
  if (out.length === 0) out.push({ path: '', message: 'does not match the schema' });
  return out;
}

/**
 * The four verification modes: a claim against the decoded response body, after its proof has
 * been verified. Pure and deterministic.
 *
 * Selection (every mode): `json_path` (default "$") is an RFC 9535 query on the body parsed as
 * JSON. The indexed value is the single selected node's value when the query selects exactly
 * one node, and the array of the selected values in document order when it selects several.
 * A query that selects nothing is CAUGHT ("path selects nothing"); an invalid query is ERROR.
 *
 * - verbatim: PASS when claimed_value equals the indexed value under RFC 8785 (canonical JSON
 *   equality). With the whole body ("$"), a string claimed_value equal to the body's exact
 *   UTF-8 text also passes, and a body that is not JSON is compared as text only.
 * - field_extraction: PASS when claimed_value equals the indexed value under RFC 8785.
 * - schema_type: PASS when the indexed value satisfies expected_json_schema (draft 2020-12,
 *   see compileClaimSchema); claimed_value is ignored. An invalid schema is ERROR.
 * - range_threshold: PASS when the indexed value is a JSON number, claimed_value is the same
 *   number, and range_min ≤ value ≤ range_max (inclusive; each bound optional). A recorded value
 *   that is not a number (a numeric string included: no coercion) is CAUGHT, as the claim says
 *   a number is there; range_min > range_max is ERROR (the claim cannot be checked).
 *
 * Numbers compare as IEEE-754 doubles after JSON parsing, as RFC 8785 does: 0 equals -0, and
 * integers beyond 2^53 that round to the same double are equal.
 */
import { query } from 'jsonpath-rfc9535';
import { type CompiledClaimSchema, compileClaimSchema } from '../handoff/claim-schema.js';
import type { HandoffClaim, JsonValue, Outcome } from '../handoff/index.js';
import { jsonPathError } from '../handoff/jsonpath.js';
import type { CheckName } from './types.js';
import { jsonEqual, showValue } from './values.js';

/** The decoded response body, read once per body and shared by the claims on it. */
export interface BodyView {
  /** The body as UTF-8 text (a leading BOM removed), or null when it is not valid UTF-8. */
  text: string | null;
  /** The body parsed as JSON, when the text is JSON. */
  json: { ok: true; value: JsonValue } | { ok: false };
}

export interface ModeVerdict {
  verdict: Outcome;
  check: CheckName;
  reason: string;
  /** What the record holds at the path, shown bounded; null when it was not read. */
  indexed: string | null;
}

/** Compiled expected_json_schema per schema text, for one evaluation. */
export type SchemaCache = Map<string, CompiledClaimSchema>;

export function bodyView(decoded: Uint8Array): BodyView {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(decoded);
  } catch {
    return { text: null, json: { ok: false } };
  }
  try {
    return { text, json: { ok: true, value: JSON.parse(text) as JsonValue } };
  } catch {
    return { text, json: { ok: false } };
  }
}

function verdict(v: Outcome, check: CheckName, reason: string, indexed: unknown = undefined): ModeVerdict {
  return { verdict: v, check, reason, indexed: showValue(indexed) };
}

/** Checks one claim against the body its (already verified) record holds. Never throws. */
export function checkClaimValue(claim: HandoffClaim, body: BodyView, schemas: SchemaCache): ModeVerdict {
  const mode = claim.verification_mode;
  const path = claim.json_path ?? '$';
  const pathError = jsonPathError(path);
  if (pathError !== null) return verdict('ERROR', 'path', `invalid JSONPath: ${pathError}`);

  let schema: CompiledClaimSchema | undefined;
  if (mode === 'schema_type') {
    schema = compiledSchema(claim.expected_json_schema, schemas);
    if (!schema.ok) return verdict('ERROR', 'schema', schema.message);
  }
  const min = claim.range_min ?? null;
  const max = claim.range_max ?? null;
  if (mode === 'range_threshold' && min !== null && max !== null && min > max) {
    return verdict('ERROR', 'claim', `range_min (${min}) is greater than range_max (${max})`);
  }

  if (body.text === null) return verdict('ERROR', 'body', 'the response body is not UTF-8 text');
  if (!body.json.ok) {
    if (mode === 'verbatim' && path === '$') {
      return claim.claimed_value === body.text
        ? verdict('PASS', 'value', 'claimed text equals the response body', body.text)
        : verdict('CAUGHT', 'value', 'claimed value differs from the response body (text)', body.text);
    }
    return verdict(
      'CAUGHT',
      'path',
      'the response body is not JSON, so json_path selects nothing',
      body.text,
    );
  }

  let nodes: JsonValue[];
  try {
    nodes = query(body.json.value, path);
  } catch (err) {
    return verdict('ERROR', 'path', `JSONPath evaluation failed: ${messageOf(err)}`);
  }
  if (nodes.length === 0) return verdict('CAUGHT', 'path', `path selects nothing: ${path}`);
  const indexed: JsonValue = nodes.length === 1 ? (nodes[0] as JsonValue) : nodes;

  switch (mode) {
    case 'verbatim': {
      const same =
        jsonEqual(claim.claimed_value, indexed) ||
        (path === '$' && typeof claim.claimed_value === 'string' && claim.claimed_value === body.text);
      return same
        ? verdict('PASS', 'value', 'claimed value equals the recorded value (RFC 8785)', indexed)
        : verdict('CAUGHT', 'value', 'claimed value differs from the recorded value', indexed);
    }
    case 'field_extraction':
      return jsonEqual(claim.claimed_value, indexed)
        ? verdict('PASS', 'value', `claimed value equals the value at ${path} (RFC 8785)`, indexed)
        : verdict('CAUGHT', 'value', `claimed value differs from the value at ${path}`, indexed);
    case 'schema_type': {
      const result = (schema as CompiledClaimSchema & { ok: true }).validate(indexed);
      return result.ok
        ? verdict('PASS', 'schema', `the value at ${path} satisfies expected_json_schema`, indexed)
        : verdict(
            'CAUGHT',
            'schema',
            `the value at ${path} does not satisfy expected_json_schema: ${result.message}`,
            indexed,
          );
    }
    case 'range_threshold': {
      if (typeof indexed !== 'number') {
        return verdict('CAUGHT', 'range', `the value at ${path} is not a number`, indexed);
      }
      if (typeof claim.claimed_value !== 'number') {
        return verdict('ERROR', 'claim', 'range_threshold needs a numeric claimed_value', indexed);
      }
      if (claim.claimed_value !== indexed) {
        return verdict('CAUGHT', 'value', `claimed number differs from the number at ${path}`, indexed);
      }
      if (min !== null && indexed < min) {
        return verdict('CAUGHT', 'range', `the number at ${path} is below range_min (${min})`, indexed);
      }
      if (max !== null && indexed > max) {
        return verdict('CAUGHT', 'range', `the number at ${path} is above range_max (${max})`, indexed);
      }
      return verdict(
        'PASS',
        'range',
        `the number at ${path} equals the claim and lies within the range`,
        indexed,
      );
    }
    default:
      return verdict('ERROR', 'claim', `unknown verification_mode ${JSON.stringify(mode)}`);
  }
}

function compiledSchema(schema: unknown, cache: SchemaCache): CompiledClaimSchema {
  let key: string;
  try {
    key = JSON.stringify(schema) ?? 'undefined';
  } catch {
    return compileClaimSchema(schema);
  }
  let compiled = cache.get(key);
  if (compiled === undefined) {
    compiled = compileClaimSchema(schema);
    cache.set(key, compiled);
  }
  return compiled;
}

function messageOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

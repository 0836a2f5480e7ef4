/**
 * Compiling the JSON Schema a schema_type claim carries (`expected_json_schema`). The schema
 * comes from an untrusted payload or a model, so:
 * - draft 2020-12 only (ajv/dist/2020); a `$schema` naming another draft is refused;
 * - strict: unknown keywords are refused instead of ignored, so a typo (`minimun`) cannot make a
 *   schema silently accept more than its author meant;
 * - `format` is an annotation (the 2020-12 default): it is not checked;
 * - no remote references: a `$ref` that is not inside the schema is refused;
 * - each schema gets its own ajv instance, so `$id`s of different claims never collide;
 * - at most MAX_CLAIM_SCHEMA_CHARS characters of JSON.
 * `pattern` keywords run on the JavaScript regular-expression engine (backtracking): a
 * pathological pattern can be slow. Callers that evaluate untrusted payloads should bound the
 * work per request (see the evaluator's notes).
 */
import { Ajv2020 } from 'ajv/dist/2020.js';

export const MAX_CLAIM_SCHEMA_CHARS = 64 * 1024;

export type ClaimSchemaValidator = (value: unknown) => { ok: true } | { ok: false; message: string };

export type CompiledClaimSchema =
  | { ok: true; validate: ClaimSchemaValidator }
  | { ok: false; message: string };

/** Compiles an `expected_json_schema`; never throws. */
export function compileClaimSchema(schema: unknown): CompiledClaimSchema {
  if (
    typeof schema !== 'boolean' &&
    (schema === null || typeof schema !== 'object' || Array.isArray(schema))
  ) {
    return { ok: false, message: 'expected_json_schema must be an object or a boolean' };
  }
  let size: number;
  try {
    size = JSON.stringify(schema).length;
  } catch (err) {
    return { ok: false, message: `expected_json_schema is not JSON: ${messageOf(err)}` };
  }
  if (size > MAX_CLAIM_SCHEMA_CHARS) {
    return {
      ok: false,
      message: `expected_json_schema has ${size} characters, more than ${MAX_CLAIM_SCHEMA_CHARS}`,
    };
  }
  try {
    const ajv = new Ajv2020({
      strict: true,
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      allowUnionTypes: true,
      validateFormats: false,
      allErrors: false,
      addUsedSchema: false,
      logger: false,
    });
    const fn = ajv.compile(schema as Record<string, unknown> | boolean);
    return {
      ok: true,
      validate(value) {
        if (fn(value)) return { ok: true };
        const e = fn.errors?.[0];
        const where = e?.instancePath ? `${e.instancePath} ` : '';
        return { ok: false, message: `${where}${e?.message ?? 'does not match the schema'}` };
      },
    };
  } catch (err) {
    return { ok: false, message: `invalid expected_json_schema: ${messageOf(err)}` };
  }
}

function messageOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

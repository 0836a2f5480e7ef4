/**
 * The one serialization of a payload that is sent and signed: RFC 8785 (JSON Canonicalization
 * Scheme) text of a schema-valid payload.
 */
import { ProvablyHandoffSchemaError } from './errors.js';
import { canonicalJson } from './jcs.js';
import { validateHandoffPayload } from './schema.js';
import type { HandoffPayload } from './types.js';

/**
 * RFC 8785 JSON of `payload`. Throws ProvablyHandoffSchemaError when the payload does not fit
 * the published schema, or holds a string RFC 8785 cannot represent (a lone surrogate).
 */
export function canonicalPayloadJson(payload: HandoffPayload): string {
  const check = validateHandoffPayload(payload);
  if (!check.ok) throw new ProvablyHandoffSchemaError(check.issues);
  let text: string | undefined;
  try {
    text = canonicalJson(payload);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ProvablyHandoffSchemaError([
      { path: '', message: `not representable as RFC 8785 JSON: ${message}` },
    ]);
  }
  if (text === undefined) throw new ProvablyHandoffSchemaError([{ path: '', message: 'not a JSON value' }]);
  return text;
}

/**
 * Reading the claims a model emitted. Models answer in text, often wrapped in a Markdown code
 * fence, and get details wrong; this turns their output into checked ModelClaim objects or a
 * ProvablyModelClaimsError whose message can be sent back to the model as-is.
 */
import { compileClaimSchema } from './claim-schema.js';
import { ProvablyModelClaimsError, type SchemaIssue } from './errors.js';
import { jsonPathError } from './jsonpath.js';
import { validateModelClaims } from './schema.js';
import type { JsonValue, ModelClaim } from './types.js';

export interface ParseClaimsOptions {
  /** When given, every claim's action_name must be one of these. */
  actionNames?: readonly string[];
  /** Require query_record_id on every claim (models that see provably record ids). Default false. */
  requireRecordIds?: boolean;
}

export interface ParsedModelClaims {
  claims: ModelClaim[];
  /** The other top-level fields of a wrapper object (e.g. the answer); {} for a bare array. */
  fields: Record<string, JsonValue>;
}

/**
 * Parses and checks model output. Accepted shapes: a JSON array of claims, or a JSON object
 * with a `claims` array next to other (wrapper) fields; as text (one surrounding Markdown code
 * fence is removed) or as an already-parsed value. Checks, in order: JSON → shape → each claim
 * against the published claim schema → action names → JSONPath syntax, expected_json_schema and
 * range bounds → record ids. Throws ProvablyModelClaimsError naming the first failing check.
 */
export function parseClaimsFromModel(input: unknown, options: ParseClaimsOptions = {}): ParsedModelClaims {
  const value = toJson(input);
  let claimsValue: unknown;
  let fields: Record<string, JsonValue> = {};
  let prefix = '';
  if (Array.isArray(value)) {
    claimsValue = value;
  } else if (value !== null && typeof value === 'object' && Object.hasOwn(value, 'claims')) {
    const { claims, ...rest } = value as Record<string, JsonValue>;
    claimsValue = claims;
    fields = rest;
    prefix = '/claims';
  } else {
    throw new ProvablyModelClaimsError('no-claims', [
      { path: '', message: 'expected a JSON array of claims or an object with a "claims" array' },
    ]);
  }

  const check = validateModelClaims(claimsValue);
  if (!check.ok) {
    throw new ProvablyModelClaimsError(
      'invalid-claim',
      check.issues.map((i) => ({ path: prefix + i.path, message: i.message })),
    );
  }
  const claims = check.value;

  if (options.actionNames !== undefined) {
    const allowed = new Set(options.actionNames);
    const list = options.actionNames.map((n) => JSON.stringify(n)).join(', ');
    const issues = claims.flatMap((c, i): SchemaIssue[] =>
      allowed.has(c.action_name)
        ? []
        : [{ path: `${prefix}/${i}/action_name`, message: `must be one of ${list}` }],
    );
    if (issues.length > 0) throw new ProvablyModelClaimsError('unknown-action', issues);
  }

  const pathIssues: SchemaIssue[] = [];
  const claimIssues: SchemaIssue[] = [];
  claims.forEach((c, i) => {
    if (typeof c.json_path === 'string') {
      const why = jsonPathError(c.json_path);
      if (why !== null)
        pathIssues.push({ path: `${prefix}/${i}/json_path`, message: `not an RFC 9535 JSONPath: ${why}` });
    }
    if (c.verification_mode === 'schema_type') {
      const compiled = compileClaimSchema(c.expected_json_schema);
      if (!compiled.ok)
        claimIssues.push({ path: `${prefix}/${i}/expected_json_schema`, message: compiled.message });
    }
    if (typeof c.range_min === 'number' && typeof c.range_max === 'number' && c.range_min > c.range_max) {
      claimIssues.push({ path: `${prefix}/${i}`, message: 'range_min must not be greater than range_max' });
    }
  });
  if (pathIssues.length > 0) throw new ProvablyModelClaimsError('invalid-json-path', pathIssues);
  if (claimIssues.length > 0) throw new ProvablyModelClaimsError('invalid-claim', claimIssues);

  if (options.requireRecordIds === true) {
    const issues = claims.flatMap((c, i): SchemaIssue[] =>
      typeof c.query_record_id === 'string'
        ? []
        : [
            {
              path: `${prefix}/${i}/query_record_id`,
              message: 'is required: copy the record id of the call',
            },
          ],
    );
    if (issues.length > 0) throw new ProvablyModelClaimsError('missing-record-id', issues);
  }
  return { claims, fields };
}

const FENCED = /^```[A-Za-z0-9_+-]*[ \t]*\r?\n([\s\S]*?)\r?\n?```$/;

/** Model text or a value → plain JSON data (a copy: the caller's objects are never returned). */
function toJson(input: unknown): unknown {
  let text: string;
  if (typeof input === 'string') {
    const trimmed = input.trim();
    text = FENCED.exec(trimmed)?.[1] ?? trimmed;
  } else {
    try {
      const serialized = JSON.stringify(input);
      if (serialized === undefined) throw new Error(`${typeof input} is not a JSON value`);
      text = serialized;
    } catch (err) {
      throw new ProvablyModelClaimsError('not-json', [{ path: '', message: messageOf(err) }]);
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ProvablyModelClaimsError('not-json', [
      { path: '', message: `not valid JSON: ${messageOf(err)}` },
    ]);
  }
}

function messageOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}

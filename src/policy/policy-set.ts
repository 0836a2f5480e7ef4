/**
 * Turning Cedar text into a policy set the engine can evaluate many times: split into policies
 * with stable ids, annotations read, optionally validated against a schema (strict mode),
 * preparsed once under its version (the SHA-256 of the policy text and schema), so a per-call
 * evaluation never re-parses text.
 *
 * Ids: Cedar names the policies of one text `policy0…` and ignores an `@id` annotation; audit
 * rows and reasons should carry the author's names, so each policy is passed by its `@id`
 * when it has one (else `policy<N>`, N its position).
 *
 * Locations: Cedar reports UTF-8 BYTE offsets; people count characters, so every offset is
 * converted to a 1-based line and a character column of the original text.
 */
import { createHash } from 'node:crypto';
import { type PolicyProblem, PolicySetError } from '../errors/index.js';
import { type DetailedError, loadCedar } from './cedar.js';
import { type ContextReads, contextReadsOf } from './context-reads.js';

/** How a policy shapes a decision, from its annotations. */
export interface PolicyInfo {
  id: string;
  effect: 'permit' | 'forbid';
  /** @reason("…") */
  reason: string | undefined;
  /** @escalate("why") on a permit: a human must approve. */
  escalate: string | undefined;
  /** @hold("300"): seconds an escalation waits (default 60). */
  holdSeconds: number | undefined;
  /** @mode("log_only"): the policy's answers are recorded, never enforced. */
  logOnly: boolean;
}

export interface CompiledPolicySet {
  /** `sha256:<hex>` of the policy text and the schema text: what every decision records. */
  version: string;
  source: string;
  policies: ReadonlyMap<string, PolicyInfo>;
  /** The preparsed id to evaluate against (= version). */
  preparsedId: string;
  /** The top-level context attributes the policies can read (`'all'`: pass the whole context). */
  contextReads: ContextReads;
}

export interface CompileInput {
  text: string;
  /** Where the text came from, for messages (a path, or `<text>`). */
  source: string;
  /** Cedar schema text (`.cedarschema`): when given, every policy is validated strictly. */
  schema?: string;
  schemaSource?: string;
}

const MAX_HOLD_SECONDS = 7 * 24 * 3600;

/** Parses, validates and preparses. Throws PolicySetError naming policy, line and column. */
export function compilePolicySet(input: CompileInput): CompiledPolicySet {
  const cedar = loadCedar();
  const { text, source } = input;
  const whole = cedar.checkParsePolicySet({ staticPolicies: text });
  if (whole.type === 'failure') {
    throw new PolicySetError(
      source,
      whole.errors.map((e) => located(e, text, 0, policyIdAt(text, firstOffset(e)), 'parse')),
    );
  }
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') {
    throw new PolicySetError(
      source,
      parts.errors.map((e) => located(e, text, 0, undefined, 'parse')),
    );
  }
  if (parts.policy_templates.length > 0) {
    throw new PolicySetError(source, [
      problem(undefined, undefined, undefined, 'policy templates are not supported here', 'parse'),
    ]);
  }
  const byId: Record<string, string> = {};
  const infos = new Map<string, PolicyInfo>();
  const offsets = new Map<string, number>();
  const ests: unknown[] = [];
  let cursor = 0;
  parts.policies.forEach((policyText, n) => {
    const json = cedar.policyToJson(policyText);
    if (json.type === 'failure') {
      throw new PolicySetError(
        source,
        json.errors.map((e) => located(e, policyText, 0, `policy${n}`, 'parse')),
      );
    }
    ests.push(json.json);
    const annotations = (json.json.annotations ?? {}) as Record<string, string | null>;
    const id = annotations.id ?? `policy${n}`;
    const at = text.indexOf(policyText, cursor);
    const offset = at >= 0 ? at : cursor;
    cursor = at >= 0 ? at + policyText.length : cursor;
    if (byId[id] !== undefined) {
      throw new PolicySetError(source, [
        {
          ...locate(text, Buffer.byteLength(text.slice(0, offset))),
          policyId: id,
          message: `duplicate policy id ${JSON.stringify(id)}`,
          kind: 'policy-id',
        },
      ]);
    }
    byId[id] = policyText;
    offsets.set(id, offset);
    infos.set(id, policyInfo(id, json.json.effect, annotations, source, text, offset));
  });

  if (input.schema !== undefined) validate(input, byId, offsets);

  const version = `sha256:${createHash('sha256')
    .update(text, 'utf8')
    .update('\u0000')
    .update(input.schema ?? '', 'utf8')
    .digest('hex')}`;
  // Re-preparsing the same content under the same id is harmless; Cedar has no delete, so
  // versions are the ids and a reload to a new text adds one entry.
  const prepared = cedar.preparsePolicySet(version, { staticPolicies: byId });
  if (prepared.type === 'failure') {
    throw new PolicySetError(
      source,
      prepared.errors.map((e) => located(e, text, 0, undefined, 'parse')),
    );
  }
  return { version, source, policies: infos, preparsedId: version, contextReads: contextReadsOf(ests) };
}

/** Checks a schema on its own (`provably policy check --schema`). Throws PolicySetError. */
export function checkSchema(schema: string, source: string): void {
  const answer = loadCedar().checkParseSchema(schema);
  if (answer.type === 'failure') {
    throw new PolicySetError(
      source,
      answer.errors.map((e) => located(e, schema, 0, undefined, 'schema')),
    );
  }
}

function validate(input: CompileInput, byId: Record<string, string>, offsets: Map<string, number>): void {
  const schema = input.schema as string;
  checkSchema(schema, input.schemaSource ?? '<schema>');
  const answer = loadCedar().validate({
    schema,
    policies: { staticPolicies: byId },
    validationSettings: { mode: 'strict' },
  });
  // validate() answers `success` even when policies are invalid: the verdict is validationErrors.
  const errors =
    answer.type === 'failure'
      ? answer.errors.map((e) => located(e, schema, 0, undefined, 'schema'))
      : answer.validationErrors.map((v) => {
          const policyText = byId[v.policyId] ?? '';
          const base = offsets.get(v.policyId) ?? 0;
          const baseBytes = Buffer.byteLength(input.text.slice(0, base));
          const rel = firstOffset(v.error);
          const p = located(
            v.error,
            input.text,
            rel === undefined ? undefined : baseBytes,
            v.policyId,
            'validation',
          );
          return policyText ? p : { ...p, line: undefined, column: undefined };
        });
  if (errors.length > 0) throw new PolicySetError(input.source, errors);
}

function policyInfo(
  id: string,
  effect: 'permit' | 'forbid',
  a: Record<string, string | null>,
  source: string,
  text: string,
  offset: number,
): PolicyInfo {
  const at = locate(text, Buffer.byteLength(text.slice(0, offset)));
  const fail = (message: string): never => {
    throw new PolicySetError(source, [{ policyId: id, ...at, message, kind: 'parse' }]);
  };
  if ('escalate' in a && effect !== 'permit') fail('@escalate applies to permit policies only');
  if ('escalate' in a && (a.escalate === null || a.escalate.trim() === ''))
    fail('@escalate needs a reason: @escalate("why a human must approve")');
  let holdSeconds: number | undefined;
  if ('hold' in a) {
    const n = a.hold === null ? Number.NaN : Number(a.hold);
    if (!Number.isSafeInteger(n) || n < 1 || n > MAX_HOLD_SECONDS)
      fail(`@hold must be whole seconds between 1 and ${MAX_HOLD_SECONDS} as a string, e.g. @hold("300")`);
    holdSeconds = n;
  }
  if ('mode' in a && a.mode !== 'log_only' && a.mode !== 'enforce')
    fail('@mode must be "log_only" or "enforce"');
  return {
    id,
    effect,
    reason: a.reason ?? undefined,
    escalate: a.escalate ?? undefined,
    holdSeconds,
    logOnly: a.mode === 'log_only',
  };
}

function firstOffset(e: DetailedError): number | undefined {
  return e.sourceLocations?.[0]?.start;
}

/**
 * A problem at Cedar's byte offset (relative to `baseBytes` into `text`; undefined: no place).
 */
function located(
  e: DetailedError,
  text: string,
  baseBytes: number | undefined,
  policyId: string | undefined,
  kind: PolicyProblem['kind'],
): PolicyProblem {
  const rel = firstOffset(e);
  const message = e.help ? `${e.message} (${e.help})` : e.message;
  if (rel === undefined || baseBytes === undefined)
    return problem(policyId, undefined, undefined, message, kind);
  const label = e.sourceLocations?.[0]?.label;
  return {
    policyId,
    ...locate(text, baseBytes + rel),
    message: label ? `${message}: ${label}` : message,
    kind,
  };
}

function problem(
  policyId: string | undefined,
  line: number | undefined,
  column: number | undefined,
  message: string,
  kind: PolicyProblem['kind'],
): PolicyProblem {
  return { policyId, line, column, message, kind };
}

/** 1-based line and character column of a UTF-8 byte offset into `text`. */
export function locate(text: string, byteOffset: number): { line: number; column: number } {
  const bytes = Buffer.from(text, 'utf8');
  const before = bytes.subarray(0, Math.max(0, Math.min(byteOffset, bytes.length))).toString('utf8');
  const lines = before.split('\n');
  const last = lines[lines.length - 1] ?? '';
  // Columns count code points (what editors show), not UTF-16 units.
  return { line: lines.length, column: [...last].length + 1 };
}

/**
 * The id of the policy a parse error's offset falls in: the @id of that statement when it has
 * one, else `policy<N>`. Cedar cannot split a text it cannot parse, so statements are found
 * here: a policy ends at a `;` outside strings and comments.
 */
function policyIdAt(text: string, byteOffset: number | undefined): string | undefined {
  if (byteOffset === undefined) return undefined;
  const charOffset = Buffer.from(text, 'utf8').subarray(0, byteOffset).toString('utf8').length;
  let n = 0;
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === ';') {
      if (charOffset <= i) break;
      n++;
      start = i + 1;
    }
    i++;
  }
  const id = /@id\s*\(\s*"((?:[^"\\]|\\.)*)"\s*\)/.exec(text.slice(start, Math.max(start, charOffset)));
  return id?.[1] ?? `policy${n}`;
}

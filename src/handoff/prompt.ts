/**
 * Prompt text that tells a model how to emit claims in exactly the shape the payload schema
 * accepts (the `model_claim` definition of schemas/handoff-payload.schema.json). Deterministic:
 * the same options always give the same text.
 *
 * `provablyIndexing`: true when the model is shown the provably record id of each call it made
 * (for example in tool results) and must copy it into `query_record_id`; false when the model
 * leaves the id out and the payload builder links each claim to its record by action name.
 */
import { ProvablyConfigError } from '../errors/index.js';
import type { ModelClaim } from './types.js';

export interface PromptOptions {
  provablyIndexing: boolean;
}

export interface ClaimContractOptions {
  /** The action names claims may use (the provably scopes the agent's calls ran under). */
  actionNames: readonly string[];
  /** Other top-level fields the model must emit next to `claims`: name → what to put there. */
  wrapperFields?: Readonly<Record<string, string>>;
  /** See the module notes; default false. */
  provablyIndexing?: boolean;
}

/** Shown in examples only; a claim that copies it is CAUGHT (no such record). */
export const EXAMPLE_RECORD_ID = '00000000-0000-4000-8000-000000000000';

/** What each claim field means, keyed by field name (query_record_id only with indexing). */
export function fieldDescriptions(options: PromptOptions): Readonly<Record<string, string>> {
  const out: Record<string, string> = {
    action_name:
      'The provably action name of the call that returned the value (exactly as listed; never invented).',
    verification_mode:
      'How the claim is checked: "verbatim", "field_extraction", "schema_type" or "range_threshold".',
    claimed_value:
      'The value exactly as it appears in the response, with the same JSON type (a number stays a ' +
      'number, a string stays a string); required except with "schema_type".',
    json_path:
      'RFC 9535 JSONPath into the response body, starting with "$" (for example "$.data.items[0].price"); ' +
      'required with "field_extraction"; leave it out to mean the whole body.',
    expected_json_schema:
      'Only with "schema_type": a JSON Schema (draft 2020-12) the value at json_path satisfies.',
    range_min: 'Only with "range_threshold": inclusive lower bound the value lies at or above (optional).',
    range_max: 'Only with "range_threshold": inclusive upper bound the value lies at or below (optional).',
  };
  if (options.provablyIndexing) {
    out.query_record_id =
      'The provably record id of the call that returned the value, copied exactly from the tool result ' +
      '(a UUID); never invented or reused from another call.';
  }
  return Object.freeze(out);
}

/** General instructions for a model that hands its findings to another agent. */
export function defaultInstructions(options: PromptOptions): string {
  const lines = [
    'You are handing your findings to another agent. Every fact you took from an HTTP response must',
    'come with a claim. The receiver does not trust you: it checks each claim, by exact comparison and',
    "without any model, against provably's signed record of the response you received. A claim that",
    'does not match the record exactly is CAUGHT and your whole handoff is rejected.',
    '',
    'Rules:',
    '- Claim only values you read in a response. Never claim values you computed, summarized,',
    '  converted, rounded or remembered.',
    '- Copy values exactly, with their JSON type: 42 and "42" are different values.',
    '- Point json_path at the exact field; prefer "field_extraction" for single fields.',
    '- Use "verbatim" only for a whole body (or a whole subtree) you copy unchanged.',
    '- Use "schema_type" to state the shape of a value (its claimed_value is ignored).',
    '- Use "range_threshold" to state that a number lies within bounds; claimed_value is still the',
    '  exact number.',
    options.provablyIndexing
      ? '- Put the provably record id shown for the call in query_record_id; one claim per call and field.'
      : '- Do not write query_record_id; it is added from action_name when the handoff is built.',
    '- Emit one claim per fact. If you have no facts from responses, emit an empty claims array.',
  ];
  return lines.join('\n');
}

/**
 * The output contract: the JSON object to emit (wrapper fields and `claims`), each claim field,
 * the allowed action names, per-mode rules, and an example that passes the payload schema's
 * claim definition. Throws ProvablyConfigError for an empty action list or a wrapper field
 * named "claims".
 */
export function claimContract(options: ClaimContractOptions): string {
  const actionNames = [...(options.actionNames ?? [])];
  if (actionNames.length === 0 || actionNames.some((n) => typeof n !== 'string' || n === '')) {
    throw new ProvablyConfigError('actionNames', 'expected at least one non-empty action name');
  }
  const wrapper = options.wrapperFields ?? {};
  if (Object.hasOwn(wrapper, 'claims')) {
    throw new ProvablyConfigError('wrapperFields', '"claims" is reserved for the claims array');
  }
  const indexing = options.provablyIndexing ?? false;
  const descriptions = fieldDescriptions({ provablyIndexing: indexing });
  const required = new Set(['action_name', 'verification_mode']);

  const lines: string[] = [
    'Answer with exactly one JSON object and nothing else (no prose, no Markdown fence).',
    'Its fields:',
  ];
  for (const [name, what] of Object.entries(wrapper)) lines.push(`- ${JSON.stringify(name)}: ${what}`);
  lines.push('- "claims": an array of claim objects, one per fact taken from an HTTP response.');
  lines.push('', 'Each claim object has these fields and no others:');
  for (const [name, what] of Object.entries(descriptions)) {
    lines.push(`- ${JSON.stringify(name)}${required.has(name) ? ' (required)' : ''}: ${what}`);
  }
  lines.push(
    '',
    `Allowed action_name values: ${actionNames.map((n) => JSON.stringify(n)).join(', ')}.`,
    '',
    'Per verification_mode:',
    '- "verbatim": claimed_value equals the whole body (or the value at json_path) exactly.',
    '- "field_extraction": json_path and claimed_value are required; claimed_value equals the value',
    '  json_path selects (an array of all selected values, in document order, when it selects several).',
    '- "schema_type": expected_json_schema is required; the value at json_path must satisfy it.',
    '- "range_threshold": claimed_value is the exact number at json_path; it must lie within',
    '  range_min..range_max (inclusive; give one or both bounds).',
    '',
    'Example:',
    JSON.stringify(exampleOutput(actionNames, wrapper, indexing), null, 2),
  );
  return lines.join('\n');
}

/** The example object of claimContract (exported for tests and for callers' own prompts). */
export function exampleOutput(
  actionNames: readonly string[],
  wrapperFields: Readonly<Record<string, string>>,
  provablyIndexing: boolean,
): Record<string, unknown> {
  const action = (i: number) => actionNames[i % actionNames.length] as string;
  const id = provablyIndexing ? { query_record_id: EXAMPLE_RECORD_ID } : {};
  const claims: ModelClaim[] = [
    {
      action_name: action(0),
      verification_mode: 'field_extraction',
      json_path: '$.data.price',
      claimed_value: 101.5,
      ...id,
    },
    {
      action_name: action(1),
      verification_mode: 'verbatim',
      json_path: '$.data.name',
      claimed_value: 'Example Corp',
      ...id,
    },
    {
      action_name: action(2),
      verification_mode: 'schema_type',
      json_path: '$.data.tags',
      expected_json_schema: { type: 'array', items: { type: 'string' } },
      ...id,
    },
    {
      action_name: action(3),
      verification_mode: 'range_threshold',
      json_path: '$.data.price',
      claimed_value: 101.5,
      range_min: 100,
      range_max: 200,
      ...id,
    },
  ];
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(wrapperFields)) {
    Object.defineProperty(out, name, {
      value: `<${name}>`,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  out.claims = claims;
  return out;
}

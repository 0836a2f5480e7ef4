/**
 * Span mapping as configuration: which spans of other tracers (agent frameworks) are provably
 * scopes, without code changes. A rule says which attribute names the action, which other
 * attributes must hold for the span to count, and where the agent id comes from.
 *
 * The explicit `provably.agent_id` + `provably.action_name` pair is not a rule: it is always a
 * scope. Rules apply only when given (code option `spanScopes`, `PROVABLY_SCOPE_ATTRIBUTES`) or
 * when the GenAI mapping is on (`PROVABLY_SCOPE_FROM_GENAI=1` = the default rules).
 *
 * Environment syntax (documented in the README): rules separated by `;`, each a list of
 * whitespace-separated `key=value` fields, or the word `defaults` for the default rules:
 *
 *   action=<attribute>                 required: the attribute whose value is the action name
 *   when=<attribute>[=<value>][,…]     optional: attributes that must be present (and equal)
 *   agent=<attribute>[,<attribute>…]   optional: where the agent id is read (span, then ancestors)
 *   default_agent=<id>                 optional: the agent when none of those is found
 */
import { ProvablyConfigError } from '../errors/index.js';
import { SCOPE_ATTRIBUTES } from './attributes.js';

/** One way a span of another tracer becomes a provably scope. */
export interface SpanScopeRule {
  /** The attribute whose (non-empty string) value is the action name; the span needs it. */
  action: string;
  /**
   * Further conditions: attribute → the exact string value it must have, or `true` for "present
   * and non-empty". All must hold.
   */
  when?: Readonly<Record<string, string | true>>;
  /**
   * Attributes the agent id is read from, on the span itself first, then on each ancestor
   * (nearest first; at each span the first listed attribute present wins). When none is found:
   * the enclosing interceptContext's agent, then `defaultAgent`, then the global default agent id.
   */
  agent?: readonly string[];
  /** Agent id when no agent attribute is found (overrides the global `defaultAgentId`). */
  defaultAgent?: string;
}

/**
 * The default rules (`PROVABLY_SCOPE_FROM_GENAI=1`, or `defaults` in PROVABLY_SCOPE_ATTRIBUTES):
 * - OpenTelemetry GenAI conventions (Anthropic SDK tool runner, `ai` with `@ai-sdk/otel`): a span
 *   with `gen_ai.tool.name` (any operation: the conventions' `execute_tool` spans are the ones
 *   that carry it), agent from `gen_ai.agent.name` on it or an ancestor (`invoke_agent` spans);
 * - `ai`'s LegacyOpenTelemetry: `ai.toolCall` spans, `ai.toolCall.name` → action, agent from
 *   `ai.telemetry.functionId` (set on every span of a call made with `experimental_telemetry`).
 */
export const DEFAULT_SPAN_SCOPES: readonly SpanScopeRule[] = Object.freeze([
  Object.freeze({
    action: 'gen_ai.tool.name',
    agent: Object.freeze(['gen_ai.agent.name', SCOPE_ATTRIBUTES.agentId]),
  }),
  Object.freeze({
    action: 'ai.toolCall.name',
    agent: Object.freeze(['ai.telemetry.functionId', 'gen_ai.agent.name', SCOPE_ATTRIBUTES.agentId]),
  }),
]);

/** A rule checked and frozen, with its conditions as a list (the hot path iterates it). */
export interface CompiledRule {
  readonly action: string;
  readonly when: readonly (readonly [string, string | true])[];
  readonly agent: readonly string[];
  readonly defaultAgent: string | undefined;
}

// Attribute names as OpenTelemetry uses them (dotted, snake_case, namespaces); anything else is
// almost certainly a typo or a syntax slip, which must stop the start rather than match nothing.
const ATTRIBUTE = /^[A-Za-z_][A-Za-z0-9_.:/-]{0,254}$/;

/** Checks rules given in code; throws ProvablyConfigError naming the rule and field. */
export function compileRules(rules: unknown, setting = 'spanScopes'): CompiledRule[] {
  if (!Array.isArray(rules)) throw new ProvablyConfigError(setting, 'expected an array of rules');
  return rules.map((rule, i) => compileRule(rule, `${setting}[${i}]`));
}

function compileRule(rule: unknown, where: string): CompiledRule {
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) {
    throw new ProvablyConfigError(where, 'expected a rule object { action, when?, agent?, defaultAgent? }');
  }
  const r = rule as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!['action', 'when', 'agent', 'defaultAgent'].includes(key)) {
      throw new ProvablyConfigError(where, `unknown field ${JSON.stringify(key)}`);
    }
  }
  const action = attributeName(r.action, `${where}.action`);
  const when: [string, string | true][] = [];
  if (r.when !== undefined) {
    if (r.when === null || typeof r.when !== 'object' || Array.isArray(r.when)) {
      throw new ProvablyConfigError(`${where}.when`, 'expected an object { attribute: value | true }');
    }
    for (const [name, value] of Object.entries(r.when)) {
      attributeName(name, `${where}.when`);
      if (value !== true && (typeof value !== 'string' || value === '')) {
        throw new ProvablyConfigError(
          `${where}.when.${name}`,
          `expected a non-empty string or true, got ${JSON.stringify(value)}`,
        );
      }
      when.push([name, value]);
    }
  }
  let agent: string[] = [];
  if (r.agent !== undefined) {
    if (!Array.isArray(r.agent))
      throw new ProvablyConfigError(`${where}.agent`, 'expected an array of attribute names');
    agent = r.agent.map((a, j) => attributeName(a, `${where}.agent[${j}]`));
  }
  let defaultAgent: string | undefined;
  if (r.defaultAgent !== undefined) {
    if (typeof r.defaultAgent !== 'string' || r.defaultAgent.trim() === '') {
      throw new ProvablyConfigError(
        `${where}.defaultAgent`,
        `expected a non-empty string, got ${JSON.stringify(r.defaultAgent)}`,
      );
    }
    defaultAgent = r.defaultAgent.trim();
  }
  return Object.freeze({ action, when: Object.freeze(when), agent: Object.freeze(agent), defaultAgent });
}

function attributeName(v: unknown, where: string): string {
  if (typeof v !== 'string' || !ATTRIBUTE.test(v)) {
    throw new ProvablyConfigError(
      where,
      `expected an attribute name (like gen_ai.tool.name), got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/**
 * Parses `PROVABLY_SCOPE_ATTRIBUTES` into rules (see the syntax above). Undefined when the value
 * is unset or blank. Throws ProvablyConfigError naming the variable and the rule (1-based).
 */
export function parseScopeAttributes(raw: string | undefined): SpanScopeRule[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const setting = 'PROVABLY_SCOPE_ATTRIBUTES';
  const rules: SpanScopeRule[] = [];
  const entries = raw.split(';').map((s) => s.trim());
  entries.forEach((entry, i) => {
    if (entry === '') return;
    const where = `${setting} rule ${i + 1} (${JSON.stringify(entry)})`;
    if (entry.toLowerCase() === 'defaults') {
      rules.push(...DEFAULT_SPAN_SCOPES);
      return;
    }
    const rule: {
      action?: string;
      when?: Record<string, string | true>;
      agent?: string[];
      defaultAgent?: string;
    } = {};
    for (const field of entry.split(/\s+/)) {
      const eq = field.indexOf('=');
      if (eq <= 0) throw new ProvablyConfigError(where, `expected key=value, got ${JSON.stringify(field)}`);
      const key = field.slice(0, eq);
      const value = field.slice(eq + 1);
      if (value === '') throw new ProvablyConfigError(where, `${key}= has no value`);
      if (key in rule || (key === 'default_agent' && rule.defaultAgent !== undefined)) {
        throw new ProvablyConfigError(where, `${key} given twice`);
      }
      if (key === 'action') rule.action = value;
      else if (key === 'agent') rule.agent = value.split(',').filter((s) => s !== '');
      else if (key === 'default_agent') rule.defaultAgent = value;
      else if (key === 'when') {
        const when: Record<string, string | true> = {};
        for (const cond of value.split(',').filter((s) => s !== '')) {
          const at = cond.indexOf('=');
          if (at === 0)
            throw new ProvablyConfigError(where, `when: condition ${JSON.stringify(cond)} has no attribute`);
          if (at < 0) when[cond] = true;
          else when[cond.slice(0, at)] = cond.slice(at + 1) === '' ? true : cond.slice(at + 1);
        }
        rule.when = when;
      } else {
        throw new ProvablyConfigError(
          where,
          `unknown key ${JSON.stringify(key)} (expected action, when, agent, default_agent)`,
        );
      }
    }
    if (rule.action === undefined) throw new ProvablyConfigError(where, 'action=<attribute> is required');
    compileRule(rule, where); // names the rule in any error about its values
    rules.push(rule as SpanScopeRule);
  });
  if (rules.length === 0)
    throw new ProvablyConfigError(setting, 'no rule given (use `defaults` for the default rules)');
  return rules;
}

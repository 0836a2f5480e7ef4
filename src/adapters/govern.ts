/**
 * governTool: one tool call = one provably scope (agent, action = the tool's name), optionally
 * decided first by a policy gateway, and a refusal turned into a tool result the model can act on.
 *
 * Every framework adapter (ai, langchain, openai-agents) is this wrapper applied to the place its
 * framework calls the tool body.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import { ProvablyConfigError } from '../errors/index.js';
import type { ProvablyGateway } from '../policy/index.js';
import { interceptContext } from '../scope/index.js';
import { type BlockedCall, type BlockedFormatter, findBlocked, formatBlocked } from './blocked.js';
import { sharedStorage } from './shared.js';

/** The options every adapter takes. */
export interface GovernOptions {
  /** The agent the tool calls are made for (required unless `gateway` gives it). */
  agentId?: string;
  /**
   * Decide each call with this policy gateway first (`gateway.guard`): the tool body runs only
   * on ALLOW. The policy sees the tool's arguments as `{ input: <arguments> }`.
   */
  gateway?: Pick<ProvablyGateway, 'agentId' | 'guard'>;
  /** The tool result for a blocked call (default: formatBlocked). */
  formatBlocked?: BlockedFormatter;
}

/** Resolved options, shared by every tool an adapter wraps. */
export interface Governance {
  agentId: string;
  gateway: Pick<ProvablyGateway, 'agentId' | 'guard'> | undefined;
  format: BlockedFormatter;
}

/** What a governed function, value or tool carries, so wrapping it again changes nothing. */
export const GOVERNED = Symbol.for('provably.governed.v1');

/** The tool call being governed right now (a nested wrapper of the same tool runs it directly). */
interface Governing {
  agentId: string;
  actionName: string;
  guarded: boolean;
}
/**
 * Shared by every copy of provably in the process (an ESM import and a CommonJS require load two),
 * so a tool wrapped by one copy and nested in a call wrapped by the other is still one scope.
 */
const current: AsyncLocalStorage<Governing> = sharedStorage(Symbol.for('provably.governing.v1'));

export function resolveGovernance(options: GovernOptions | undefined, where: string): Governance {
  if (options === null || typeof options !== 'object') {
    throw new ProvablyConfigError(where, 'expected options { agentId, gateway?, formatBlocked? }');
  }
  const { gateway, formatBlocked: format } = options;
  if (gateway !== undefined && (gateway === null || typeof gateway.guard !== 'function')) {
    throw new ProvablyConfigError(`${where}: gateway`, 'expected a ProvablyGateway');
  }
  const agentId = options.agentId ?? gateway?.agentId;
  if (typeof agentId !== 'string' || agentId.trim() === '') {
    throw new ProvablyConfigError(`${where}: agentId`, 'expected a non-empty agent id');
  }
  if (gateway !== undefined && gateway.agentId !== agentId) {
    throw new ProvablyConfigError(
      `${where}: agentId`,
      `${JSON.stringify(agentId)} differs from the gateway's agent ${JSON.stringify(gateway.agentId)}`,
    );
  }
  if (format !== undefined && typeof format !== 'function') {
    throw new ProvablyConfigError(`${where}: formatBlocked`, 'expected a function (blocked) => string');
  }
  return { agentId, gateway, format: format ?? formatBlocked };
}

export function checkToolName(name: unknown, where: string): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new ProvablyConfigError(where, `expected a non-empty tool name, got ${typeof name}`);
  }
  return name;
}

/**
 * Runs `body()` as one governed call of tool `name`: inside a scope, behind the gateway when
 * there is one. Returns the body's value (a promise), the blocked text when the body threw a
 * block, or, for a body that returns an async iterable (a streaming tool), an iterable whose every
 * step runs in the scope. Other errors propagate unchanged.
 */
export function runGoverned(gov: Governance, name: string, toolInput: unknown, body: () => unknown): unknown {
  const fallback = { agentId: gov.agentId, actionName: name };
  const blockedText = (err: unknown): string => {
    const blocked = findBlocked(err, fallback);
    if (blocked === undefined) throw err;
    return textFor(gov, blocked);
  };
  const outer = current.getStore();
  const guarded = gov.gateway !== undefined;
  if (outer?.agentId === gov.agentId && outer.actionName === name && (outer.guarded || !guarded)) {
    return body(); // wrapped twice: the outer wrapper already governs this call.
  }
  const me: Governing = { agentId: gov.agentId, actionName: name, guarded };
  const scoped = (): unknown =>
    interceptContext({ agentId: gov.agentId, actionName: name }, () => current.run(me, body));
  let result: unknown;
  try {
    if (gov.gateway !== undefined) {
      // A fresh guard per call: the policy must see the tool's arguments only, never the
      // framework's per-call extras (run context, abort signal, message history).
      // The parameter's name is what guard names the argument in the policy's params: `input`.
      // No other binding in this module may be called `input`: the bundler would rename this one
      // (test/adapters/frameworks.test.ts checks the params recorded through the built package).
      // biome-ignore lint/correctness/noUnusedFunctionParameters: read by guard through fn.toString().
      const decideFirst = gov.gateway.guard(name, (input: unknown) => current.run(me, body));
      result = decideFirst(toolInput);
    } else {
      result = scoped();
    }
  } catch (err) {
    // A synchronous throw (a sync body, or a guard refusing bad arguments) settles like an async
    // one: the blocked text, or a rejection with the error unchanged.
    return new Promise((resolve) => resolve(blockedText(err)));
  }
  if (isAsyncIterable(result) && !isThenable(result)) return governSteps(gov, name, me, result, blockedText);
  return Promise.resolve(result).then(
    (value) =>
      isAsyncIterable(value) && gov.gateway !== undefined
        ? governSteps(gov, name, me, value, blockedText)
        : value,
    blockedText,
  );
}

/** The formatted text for a block; a formatter that throws or answers a non-string falls back. */
export function textFor(gov: Governance, blocked: BlockedCall): string {
  try {
    const text = gov.format(blocked);
    if (typeof text === 'string') return text;
  } catch {
    // The user's formatter failed: the model is still told, in the default words.
  }
  return formatBlocked(blocked);
}

/**
 * A streaming tool's body runs lazily, step by step, in whoever iterates it (the framework, after
 * the call returned): each step is run in a scope of its own, so every request it makes is
 * governed. A block ends the stream with the blocked text as its last (final) value.
 */
async function* governSteps(
  gov: Governance,
  name: string,
  me: Governing,
  iterable: AsyncIterable<unknown>,
  blockedText: (err: unknown) => string,
): AsyncGenerator<unknown, void, undefined> {
  const iterator = iterable[Symbol.asyncIterator]();
  for (;;) {
    let step: IteratorResult<unknown>;
    try {
      step = await interceptContext({ agentId: gov.agentId, actionName: name }, () =>
        current.run(me, () => iterator.next()),
      );
    } catch (err) {
      yield blockedText(err);
      return;
    }
    if (step.done) return;
    yield step.value;
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function'
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Marks `target` as governed (not enumerable: spreading a tool must not copy the mark around). */
export function markGoverned<T extends object>(target: T, gov: Governance, name: string): T {
  Object.defineProperty(target, GOVERNED, { value: { agentId: gov.agentId, actionName: name } });
  return target;
}

/** Whether `value` (a function or a tool) was already governed by an adapter. */
export function isGoverned(value: unknown): boolean {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    (value as Record<symbol, unknown>)[GOVERNED] !== undefined
  );
}

/**
 * An adapter's `governTools`: the options resolved once, then each tool through the framework's
 * own wrapper (`one`, which keeps tools it does not govern as they are).
 */
export function governEach<T>(
  tools: readonly T[],
  options: GovernOptions,
  where: string,
  one: (tool: T, gov: Governance) => T,
): T[] {
  const gov = resolveGovernance(options, where);
  if (!Array.isArray(tools)) throw new ProvablyConfigError(where, 'expected an array of tools');
  return tools.map((t) => one(t, gov));
}

/**
 * Governs the tools of an object that holds them (an Agent, a ToolNode) in place — its `tools`
 * array replaced by governed copies — and returns it. `what` names it in the error.
 */
export function governHolder<H extends { tools: unknown[] }>(
  holder: H,
  options: GovernOptions,
  where: string,
  what: string,
  one: (tool: H['tools'][number], gov: Governance) => H['tools'][number],
): H {
  const gov = resolveGovernance(options, where);
  if (holder === null || typeof holder !== 'object' || !Array.isArray(holder.tools)) {
    throw new ProvablyConfigError(where, `expected ${what} (an object with a tools array)`);
  }
  holder.tools = holder.tools.map((t) => one(t, gov));
  return holder;
}

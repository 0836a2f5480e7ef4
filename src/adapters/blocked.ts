/**
 * Recognising a blocked call in whatever a tool threw, and saying it in words a model can act on.
 *
 * Transports wrap provably's refusal (fetch: `TypeError('fetch failed')` with the refusal as
 * `cause`; axios/got: their own error with the `code` kept), tools wrap it again, and runtimes
 * gather several into an AggregateError. So the refusal is looked for through the whole `cause`
 * chain and `errors` lists, bounded, cycle-safe.
 */
import { EscalationTimeoutError, PolicyBlockedError, ProvablyBlockedError } from '../errors/index.js';

/** A refused call as the adapters saw it; what `formatBlocked` receives. */
export interface BlockedCall {
  /**
   * `untrusted-endpoint`: the network call was refused (its URL is not a trusted endpoint for the
   * agent/action, or the trust check failed closed); `policy`: the policy (or a human reviewer)
   * refused the action; `escalation-timeout`: the action waited for a human who did not decide.
   */
  kind: 'untrusted-endpoint' | 'policy' | 'escalation-timeout';
  /** The refused URL (`untrusted-endpoint` only). */
  url: string | undefined;
  agentId: string;
  actionName: string;
  /** Why, in words (the refusal's detail, the policy's reason). */
  reason: string;
  /** The provably error found in the chain. */
  error: Error;
}

/** Turns a blocked call into the tool result the model receives. */
export type BlockedFormatter = (blocked: BlockedCall) => string;

/** How many errors of a cause chain / AggregateError tree are looked at before giving up. */
const MAX_ERRORS = 64;

const DETAIL = /^BLOCKED: .* \((.+); agent ".*", action ".*"\)$/s;
const TRUSTED = 'not a trusted endpoint';

/**
 * The blocked call inside `error` (itself, its `cause` chain, AggregateError `errors`), or
 * undefined. `fallback` names the agent/action for errors that carry the block's code but not its
 * fields (a library that copied `code` onto its own error). Never throws.
 */
export function findBlocked(
  error: unknown,
  fallback: { agentId: string; actionName: string },
): BlockedCall | undefined {
  try {
    const seen = new Set<unknown>();
    const queue: unknown[] = [error];
    while (queue.length > 0 && seen.size < MAX_ERRORS) {
      const e = queue.shift();
      if (e === null || typeof e !== 'object' || seen.has(e)) continue;
      seen.add(e);
      const found = asBlocked(e, fallback);
      if (found !== undefined) return found;
      const { cause, errors } = e as { cause?: unknown; errors?: unknown };
      if (cause !== undefined) queue.push(cause);
      if (Array.isArray(errors)) queue.push(...errors.slice(0, MAX_ERRORS));
    }
  } catch {
    // A hostile getter on some error: treat as not blocked, the error propagates unchanged.
  }
  return undefined;
}

function asBlocked(e: object, fallback: { agentId: string; actionName: string }): BlockedCall | undefined {
  if (e instanceof ProvablyBlockedError) {
    const why = DETAIL.exec(e.message)?.[1] ?? TRUSTED;
    return {
      kind: 'untrusted-endpoint',
      url: e.url,
      agentId: e.agentId,
      actionName: e.actionName,
      reason: why,
      error: e,
    };
  }
  if (e instanceof PolicyBlockedError) {
    return { kind: 'policy', url: undefined, ...fallback, actionName: e.action, reason: e.reason, error: e };
  }
  if (e instanceof EscalationTimeoutError) {
    return {
      kind: 'escalation-timeout',
      url: undefined,
      ...fallback,
      actionName: e.action,
      reason: `escalation ${e.escalationId} expired before a human decided`,
      error: e,
    };
  }
  // axios, got, node-fetch: their own error type with provably's code kept (and the URL on it).
  const code = (e as { code?: unknown }).code;
  if (code === 'PROVABLY_BLOCKED' && e instanceof Error) {
    const url = (e as { url?: unknown }).url;
    return {
      kind: 'untrusted-endpoint',
      url: typeof url === 'string' ? url : undefined,
      ...fallback,
      reason: TRUSTED,
      error: e,
    };
  }
  return undefined;
}

/**
 * The default tool result for a blocked call:
 * `BLOCKED: <url> is not a trusted endpoint for <agent>/<action>`, or, when the trust check
 * itself failed closed, `BLOCKED: <url> was refused for <agent>/<action> (<why>)`;
 * `BLOCKED by policy: <reason>` for policy refusals and expired escalations.
 */
export function formatBlocked(blocked: BlockedCall): string {
  const who = `${blocked.agentId}/${blocked.actionName}`;
  if (blocked.kind !== 'untrusted-endpoint') return `BLOCKED by policy: ${blocked.reason}`;
  const url = blocked.url ?? 'the requested URL';
  if (blocked.reason === TRUSTED) return `BLOCKED: ${url} is not a trusted endpoint for ${who}`;
  return `BLOCKED: ${url} was refused for ${who} (${blocked.reason})`;
}

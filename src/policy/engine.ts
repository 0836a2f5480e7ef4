/**
 * The policy engine: one compiled policy set at a time, evaluated many times, replaced by a
 * reload only when the new text compiles (a bad edit is refused and the previous good set keeps
 * serving). Decisions, in order:
 *
 *   Cedar failure answer, or ANY diagnostics error      → BLOCK (the error is the reason).
 *     Cedar SKIPS a policy whose condition errors: a forbid that errors would silently become
 *     an allow. Failing closed on every error is the only safe reading.
 *   deny with satisfied forbids                         → BLOCK (their @reason, else ids)
 *   deny with nothing satisfied                         → BLOCK (default deny)
 *   allow, a satisfied permit carries @escalate         → ESCALATE (hold: the longest @hold, 60 s default)
 *   allow                                               → ALLOW
 *
 * Shadow mode: PROVABLY_POLICY_MODE=log-only for everything, or @mode("log_only") on EVERY
 * policy that determined the answer: the decision is computed and recorded, and the call
 * proceeds. An evaluation error is never shadowed by an annotation (only by the global mode).
 */
import { readFileSync, type StatWatcher, unwatchFile, watchFile } from 'node:fs';
import { resolve } from 'node:path';
import { diag } from '../diag/index.js';
import { PolicyInputError, PolicySetError, ProvablyConfigError } from '../errors/index.js';
import { loadCedar } from './cedar.js';
import { type CedarValue, toCedarValue } from './cedar-values.js';
import type { Params } from './params.js';
import { type CompiledPolicySet, compilePolicySet, type PolicyInfo } from './policy-set.js';

export type Decision = 'ALLOW' | 'BLOCK' | 'ESCALATE';
export type PolicyMode = 'enforce' | 'log_only';

export const DEFAULT_HOLD_SECONDS = 60;

export interface SessionCounts {
  id: string;
  allowed: number;
  blocked: number;
  escalated: number;
}

export interface DecisionRequest {
  agentId: string;
  action: string;
  /** Resource Tenant::"<tenant>": the org the decision is recorded under. */
  tenant: string;
  params: Params;
  session: SessionCounts;
  now?: Date;
}

export interface PolicyDecision {
  decision: Decision;
  reason: string;
  /** The policies that determined it (satisfied forbids, or satisfied permits). */
  policyIds: string[];
  policyVersion: string;
  /** Seconds an ESCALATE waits for a human. */
  holdSeconds: number | undefined;
  /** log_only: recorded, not enforced (the call proceeds). */
  mode: PolicyMode;
}

export interface PolicySource {
  /** Cedar text, or a path to a .cedar file (hot-reloaded when it changes). */
  policy: string;
  /** Cedar schema text or a path to a .cedarschema file: policies are validated strictly. */
  schema?: string;
  /** Default: PROVABLY_POLICY_MODE (`enforce` | `log-only`), else enforce. */
  mode?: PolicyMode;
  /** Watch a policy file and reload it on change (default true for files). */
  watch?: boolean;
  /** How often a watched file is checked, ms (default 500). */
  watchIntervalMs?: number;
  /** Hold of an escalation without @hold, seconds (default 60). */
  defaultHoldSeconds?: number;
  /**
   * Pass Cedar only the context attributes the policies can read (default true). False always
   * builds and passes the whole context: the same decisions, slower (a debugging aid).
   */
  pruneContext?: boolean;
}

export interface ReloadResult {
  ok: boolean;
  version: string;
  error?: PolicySetError;
}

/** Reads PROVABLY_POLICY_MODE: `enforce` (default) or `log-only`. */
export function readPolicyMode(env: Record<string, string | undefined> = process.env): PolicyMode {
  const v = (env.PROVABLY_POLICY_MODE ?? '').trim().toLowerCase();
  if (v === '' || v === 'enforce') return 'enforce';
  if (v === 'log-only' || v === 'log_only') return 'log_only';
  throw new ProvablyConfigError(
    'PROVABLY_POLICY_MODE',
    `expected "enforce" or "log-only", got ${JSON.stringify(v)}`,
  );
}

interface Loaded {
  text: string;
  source: string;
  file: string | undefined;
}

/** Resolves a `policy` or `schema` option: an existing file, else Cedar text. */
export function readPolicyInput(value: string, what: 'policy' | 'schema'): Loaded {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ProvablyConfigError(what, 'expected Cedar text or a file path');
  }
  const looksLikeText = /[;{(]/.test(value) || value.includes('\n');
  if (!looksLikeText) {
    const file = resolve(value);
    try {
      return { text: readFileSync(file, 'utf8'), source: file, file };
    } catch (err) {
      throw new ProvablyConfigError(what, `cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return { text: value, source: what === 'policy' ? '<policy text>' : '<schema text>', file: undefined };
}

export class PolicyEngine {
  #current: CompiledPolicySet;
  #currentText: string;
  readonly #policy: Loaded;
  readonly #schema: Loaded | undefined;
  readonly #mode: PolicyMode;
  readonly #defaultHold: number;
  readonly #prune: boolean;
  #watcher: StatWatcher | undefined;
  #lastError: PolicySetError | undefined;
  readonly #listeners = new Set<(r: ReloadResult) => void>();

  /** Compiles the set now: throws PolicySetError (or ProvablyConfigError for an unreadable file). */
  constructor(source: PolicySource) {
    this.#policy = readPolicyInput(source.policy, 'policy');
    this.#schema = source.schema === undefined ? undefined : readPolicyInput(source.schema, 'schema');
    this.#mode = source.mode ?? readPolicyMode();
    this.#defaultHold = source.defaultHoldSeconds ?? DEFAULT_HOLD_SECONDS;
    this.#prune = source.pruneContext !== false;
    if (!Number.isSafeInteger(this.#defaultHold) || this.#defaultHold < 1) {
      throw new ProvablyConfigError(
        'defaultHoldSeconds',
        `expected whole seconds ≥ 1, got ${String(this.#defaultHold)}`,
      );
    }
    this.#current = this.#compile(this.#policy.text);
    this.#currentText = this.#policy.text;
    this.#warmUp();
    const file = this.#policy.file;
    if (file !== undefined && source.watch !== false) {
      const interval = source.watchIntervalMs ?? 500;
      this.#watcher = watchFile(file, { interval, persistent: false }, () => this.reload());
      // watchFile's first stat is taken asynchronously: an edit landing before it would never
      // count as a change. One look after the first polls closes that window.
      setTimeout(() => {
        if (this.#watcher !== undefined) this.reload();
      }, interval * 2).unref();
    }
  }

  /** The version (`sha256:…`) of the set now serving. */
  get version(): string {
    return this.#current.version;
  }

  get mode(): PolicyMode {
    return this.#mode;
  }

  /**
   * Whether the serving policies can read context attribute `attr` (`session`, `params`,
   * `now`): a caller may skip gathering what no policy reads (the gateway skips the session's
   * counts). True whenever a policy uses the context as a whole.
   */
  reads(attr: string): boolean {
    const reads = this.#current.contextReads;
    return reads === 'all' || reads.has(attr);
  }

  /** The last refused reload (cleared by a successful one). */
  get lastError(): PolicySetError | undefined {
    return this.#lastError;
  }

  /** Called after every reload attempt (success or refusal). Returns an unsubscribe function. */
  onReload(listener: (r: ReloadResult) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Re-reads the policy file (or takes `text`) and swaps the set in if it compiles; otherwise
   * the previous set keeps serving and the refusal is returned (and logged).
   */
  reload(text?: string): ReloadResult {
    let result: ReloadResult;
    try {
      const next = text ?? (this.#policy.file ? readFileSync(this.#policy.file, 'utf8') : this.#policy.text);
      if (next === this.#currentText && this.#lastError === undefined) {
        return { ok: true, version: this.#current.version }; // unchanged: nothing to announce
      }
      const compiled = this.#compile(next);
      if (compiled.version !== this.#current.version) diag.info(`policy reloaded: ${compiled.version}`);
      this.#current = compiled;
      this.#currentText = next;
      this.#lastError = undefined;
      result = { ok: true, version: compiled.version };
    } catch (err) {
      const error =
        err instanceof PolicySetError
          ? err
          : new PolicySetError(this.#policy.source, [
              {
                policyId: undefined,
                line: undefined,
                column: undefined,
                message: String((err as Error)?.message ?? err),
                kind: 'parse',
              },
            ]);
      this.#lastError = error;
      diag.warn(`policy reload refused; still serving ${this.#current.version}: ${error.message}`);
      result = { ok: false, version: this.#current.version, error };
    }
    for (const l of this.#listeners) {
      try {
        l(result);
      } catch (err) {
        diag.warn('a policy reload listener threw', err);
      }
    }
    return result;
  }

  /** Decides one request. Never throws for a request it can describe: errors are BLOCK. */
  evaluate(request: DecisionRequest): PolicyDecision {
    const set = this.#current;
    const base = { policyVersion: set.version, holdSeconds: undefined, policyIds: [] as string[] };
    const block = (reason: string, ids: string[] = []): PolicyDecision => ({
      ...base,
      decision: 'BLOCK',
      reason,
      policyIds: ids,
      mode: this.#mode,
    });
    // Only the attributes the serving policies can read are built and handed to Cedar (the
    // JS→wasm conversion is most of a decision's cost; context-reads.ts). The params are
    // converted even when unread: the conversion is also their check (reserved keys, numbers
    // Cedar cannot hold), and whether a request is refused must not depend on the policy text.
    const reads = this.#prune ? set.contextReads : 'all';
    const context: Record<string, CedarValue> = {};
    try {
      const params = (toCedarValue(request.params, 'params') ?? {}) as CedarValue;
      if (reads === 'all' || reads.has('params')) context.params = params;
    } catch (err) {
      if (err instanceof PolicyInputError) return block(`policy input refused: ${err.message}`);
      return block(`policy input refused: ${String(err)}`);
    }
    if (reads === 'all' || reads.has('session')) {
      context.session = {
        id: request.session.id,
        allowed: request.session.allowed,
        blocked: request.session.blocked,
        escalated: request.session.escalated,
      };
    }
    if (reads === 'all' || reads.has('now')) context.now = nowValue(request.now ?? new Date());
    let answer: ReturnType<ReturnType<typeof loadCedar>['statefulIsAuthorized']>;
    try {
      answer = loadCedar().statefulIsAuthorized({
        principal: { type: 'Agent', id: request.agentId },
        action: { type: 'Action', id: request.action },
        resource: { type: 'Tenant', id: request.tenant },
        context: context as never,
        entities: [],
        preparsedPolicySetId: set.preparsedId,
      });
    } catch (err) {
      return block(`policy evaluation failed: ${(err as Error)?.message ?? String(err)}`);
    }
    if (answer.type === 'failure') {
      return block(`policy evaluation failed: ${answer.errors.map((e) => e.message).join('; ')}`);
    }
    const { decision, diagnostics } = answer.response;
    if (diagnostics.errors.length > 0) {
      // Cedar lists errors in no fixed order (two evaluations of one request differ): sorted by
      // policy id, the same request always records the same reason.
      const errors = [...diagnostics.errors].sort((x, y) =>
        x.policyId < y.policyId ? -1 : x.policyId > y.policyId ? 1 : 0,
      );
      const ids = errors.map((e) => e.policyId);
      const what = errors.map((e) => `${e.policyId}: ${e.error.message}`).join('; ');
      return block(`policy error (fail closed): ${what}`, ids);
    }
    const ids = [...diagnostics.reason].sort();
    const infos = ids.map((id) => set.policies.get(id)).filter((p): p is PolicyInfo => p !== undefined);
    const shadow = this.#mode === 'log_only' || (infos.length > 0 && infos.every((p) => p.logOnly));
    const mode: PolicyMode = shadow ? 'log_only' : 'enforce';
    if (decision === 'deny') {
      if (ids.length === 0) {
        return {
          ...base,
          decision: 'BLOCK',
          reason: 'no policy permits this action (default deny)',
          mode: this.#mode,
        };
      }
      return {
        ...base,
        decision: 'BLOCK',
        reason: reasonOf(infos, ids, 'forbidden by'),
        policyIds: ids,
        mode,
      };
    }
    const escalating = infos.filter((p) => p.escalate !== undefined);
    if (escalating.length > 0) {
      const hold = Math.max(...escalating.map((p) => p.holdSeconds ?? this.#defaultHold));
      return {
        ...base,
        decision: 'ESCALATE',
        reason: escalating.map((p) => p.escalate as string).join('; '),
        policyIds: ids,
        holdSeconds: hold,
        mode,
      };
    }
    return { ...base, decision: 'ALLOW', reason: reasonOf(infos, ids, 'permitted by'), policyIds: ids, mode };
  }

  /** Stops watching the file. */
  close(): void {
    if (this.#watcher !== undefined && this.#policy.file !== undefined) {
      unwatchFile(this.#policy.file);
      this.#watcher = undefined;
    }
    this.#listeners.clear();
  }

  #compile(text: string): CompiledPolicySet {
    return compilePolicySet({
      text,
      source: this.#policy.source,
      schema: this.#schema?.text,
      schemaSource: this.#schema?.source,
    });
  }

  /** The first evaluation pays Cedar's warm-up (60–240 ms): pay it at load, not on a call. */
  #warmUp(): void {
    try {
      this.evaluate({
        agentId: 'provably-warmup',
        action: 'provably.warmup',
        tenant: 'provably-warmup',
        params: {},
        session: { id: 'warmup', allowed: 0, blocked: 0, escalated: 0 },
      });
    } catch {
      // A warm-up failure shows again on the first real call, as a BLOCK.
    }
  }
}

function reasonOf(infos: PolicyInfo[], ids: string[], prefix: string): string {
  const reasons = infos.map((p) => p.reason).filter((r): r is string => r !== undefined && r !== '');
  return reasons.length > 0 ? reasons.join('; ') : `${prefix} ${ids.join(', ')}`;
}

/** context.now: Cedar's datetime extension value (`context.now > datetime("…")`). */
function nowValue(now: Date): CedarValue {
  return { __extn: { fn: 'datetime', arg: now.toISOString() } } as unknown as CedarValue;
}

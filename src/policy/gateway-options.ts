/** The options of ProvablyGateway and of one execute() call (kept apart so session.ts needs no gateway import). */
import type { Store } from '../store/types.js';
import type { PolicyMode } from './engine.js';

export interface ProvablyGatewayOptions {
  /** The agent (Cedar principal Agent::"<agentId>"). Default: PROVABLY_AGENT_ID. */
  agentId?: string;
  /** Cedar text or a .cedar file path (hot-reloaded). Default: PROVABLY_POLICY_FILE. */
  policy?: string;
  /** Cedar schema text or .cedarschema path: policies are validated strictly against it. */
  schema?: string;
  /**
   * Remote mode: the gateway's origin (`http://localhost:4587`). Default: PROVABLY_GATEWAY_URL
   * (when no policy is given). Give either gatewayUrl or policy.
   */
  gatewayUrl?: string;
  /** Remote mode: the agent's API key (`pvk_…`). Default: PROVABLY_API_KEY. */
  apiKey?: string;
  /**
   * Remote mode, the gateway unreachable: `closed` (default) → GatewayError, nothing runs;
   * `open` → ALLOW, recorded in the local store and pushed to the gateway once it is back.
   * Default: PROVABLY_GATEWAY_ON_ERROR. A refused key (401/403) fails closed either way.
   */
  onGatewayError?: 'closed' | 'open';
  /** Where decisions go (remote mode: where fail-open decisions go). Default: provably's default store (PROVABLY_DATABASE_URL, else embedded). */
  store?: Store;
  /** The tenant (Cedar resource Tenant::"<tenant>") and ledger org. Default: PROVABLY_ORG_ID. */
  tenant?: string;
  /** `enforce` or `log_only`. Default: PROVABLY_POLICY_MODE. */
  mode?: PolicyMode;
  /** Session id for calls made outside `session()`. */
  defaultSession?: string;
  /** Escalation hold without @hold, seconds (default 60). */
  defaultHoldSeconds?: number;
  /** Param key names stored as "[REDACTED]". Default: PROVABLY_REDACT_PARAMS. */
  redactParams?: readonly string[];
  /** How often a waiting escalation re-reads its row besides LISTEN/NOTIFY, ms (default 1000). */
  pollMs?: number;
  /** Reload a policy file when it changes (default true). */
  watch?: boolean;
  /** Remote mode: bound of one request, ms (default 90 000); escalations wait for their hold. */
  timeoutMs?: number;
  /** Remote mode: seconds the gateway may hold one escalation poll (1–55, default 55). */
  longPollSeconds?: number;
}

export interface ExecuteOptions {
  /** Default true: BLOCK throws PolicyBlockedError; false returns the BLOCK result. */
  throwOnBlock?: boolean;
  /** Default true: wait for an escalation; false returns the ESCALATE result at once. */
  wait?: boolean;
  /** Overrides the current session (inside `session()`) and defaultSession. */
  sessionId?: string;
}

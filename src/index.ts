/**
 * provably's public API. The preload (`node --import provably/register`) installs interception;
 * this entry is what agent code, tools and operators import.
 */
export {
  DEFAULT_DATA_DIR,
  DEFAULT_ORG_ID,
  defaultOrgId,
  readStoreConfig,
  type StoreConfig,
} from './config/index.js';
export { configureDiag, type DiagLogger, type LogLevel } from './diag/index.js';
export {
  EscalationError,
  type EscalationErrorReason,
  EscalationTimeoutError,
  GatewayError,
  PolicyBlockedError,
  PolicyInputError,
  type PolicyProblem,
  PolicySetError,
  ProvablyBlockedError,
  ProvablyConfigError,
  ProvablyError,
  ProvablyStoreError,
  ProvablyUrlError,
  type StoreErrorReason,
} from './errors/index.js';
// Both the evaluator and the Merkle code name a result ProofCheck; the public one is the evaluator's.
export type { ProofCheck } from './eval/index.js';
export * from './eval/index.js';
export * from './gateway/index.js';
export * from './handoff/index.js';
export type { InterceptBodyHook, InterceptStats } from './intercept/index.js';
export * from './ledger/index.js';
export * from './policy/index.js';
export {
  ALWAYS_REDACTED_HEADERS,
  type BodyDecodeFailure,
  DEFAULT_MAX_BODY_BYTES,
  decodeBody,
  getIntercept,
  type InterceptRecord,
  type LeafVersion,
  type ListInterceptsOptions,
  listIntercepts,
  ProvablyBodyDecodeError,
  ProvablyInvalidIdError,
  REDACTED,
  type RecordPeer,
} from './record/index.js';
export {
  disable,
  enable,
  isEnabled,
  type ProvablyStatus,
  provablyStatus,
  type StartOptions,
  setInterceptBodyHook,
  setInterceptUrlAllowlist,
  startProvably,
} from './runtime/index.js';
export {
  type ActiveScope,
  activeScope,
  agentRun,
  GEN_AI_ATTRIBUTES,
  type InterceptContextOptions,
  interceptContext,
  type OtelWiringMode,
  provablySpanProcessor,
  SCOPE_ATTRIBUTES,
  selfEgress,
} from './scope/index.js';
export * from './server/index.js';
export * from './store/index.js';
export * from './trust/index.js';
export { VERSION } from './version.js';

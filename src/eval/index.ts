/**
 * eval — the deterministic evaluator: checks each claim of a handoff payload against the proven
 * record and answers PASS / CAUGHT / ERROR. No model judges anything.
 *
 *   const result = await evaluateHandoff(payload, { trustedKeys, verifyProof, store });
 *   if (result.outcome === 'PASS') use(payload);
 *
 * Proof verification is injected (ProofVerifier): the ledger provides it; this module never
 * imports the ledger, interception, scopes or the runtime.
 */
export { evaluateHandoff } from './evaluate.js';
export { leafRecordOf, ledgerProofVerifier } from './ledger-verifier.js';
export { type BodyView, bodyView, checkClaimValue, type ModeVerdict } from './modes.js';
export { aggregateOutcome, outcomeFromTrace, worstOutcome } from './outcome.js';
export type {
  CheckName,
  ClaimEvaluation,
  EvaluateOptions,
  EvaluationError,
  EvaluationErrorCode,
  EvaluationResult,
  ProofCheck,
  ProofVerifier,
  TrustedKey,
  TrustedKeySet,
} from './types.js';
export { jsonEqual, MAX_SHOWN_VALUE_CHARS, showValue } from './values.js';

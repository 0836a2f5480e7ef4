/** server — the eval service: receives handoffs over HTTP, evaluates, keeps the verdicts. */
export { createEvalApp, DEFAULT_BODY_LIMIT_BYTES, type EvalAppOptions, storeProblem } from './app.js';
export { getEvaluation, type StoredEvaluation, saveEvaluation } from './evaluations.js';
export { jsonLineLog, type ServiceLog } from './log.js';
export {
  DEFAULT_HOST,
  DEFAULT_PORT,
  type EvalServerOptions,
  type RunningEvalServer,
  startEvalServer,
} from './serve.js';
export { type CheckpointSigner, type CheckpointSignerOptions, startCheckpointSigner } from './signer.js';

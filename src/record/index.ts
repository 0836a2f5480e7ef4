/**
 * record — turns governed calls into provably_intercepts rows (write side, used by the
 * transport adapters through the Recorder contract) and reads them back (CLI, evaluator).
 */
export { BodyCapture } from './body.js';
export {
  ALWAYS_REDACTED_HEADERS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_STORE_ERROR_POLICY,
  MAX_BODY_BYTES_LIMIT,
  type RecorderConfig,
  readRecorderConfig,
  type StoreErrorPolicy,
} from './config.js';
export {
  DEFAULT_MAX_DECODED_BYTES,
  type DecodeBodyOptions,
  decodeBody,
  supportedEncodings,
} from './decode.js';
export { type BodyDecodeFailure, ProvablyBodyDecodeError, ProvablyInvalidIdError } from './errors.js';
export { describeError } from './failures.js';
export { normalizeHeaders, REDACTED, type StoredHeaders } from './headers.js';
export {
  CURRENT_LEAF_VERSION,
  DEFAULT_LIST_LIMIT,
  getIntercept,
  INTERCEPT_COLUMNS,
  type InterceptRecord,
  isUuid,
  type LeafVersion,
  type ListInterceptsOptions,
  listIntercepts,
  MAX_LIST_LIMIT,
  recordIdOf,
} from './read.js';
export {
  createRecorder,
  type RecordedCall,
  type RecordedRow,
  type RecorderBatchOptions,
  type RecorderOptions,
  type RecorderStats,
  type StoreRecorder,
} from './recorder.js';
export { type KeptBody, keptBodyProblem, storedBodyProblem } from './stored-body.js';
export type {
  CallPeer,
  CallPeerTls,
  CallRecording,
  CallRequest,
  CallScope,
  HeaderMap,
  Recorder,
  RecordPeer,
  StoredCallSummary,
} from './types.js';

/**
 * handoff — what one agent hands to another: claims about the HTTP responses it fetched, each
 * with a proof bundle, in the wire format of schemas/handoff-payload.schema.json.
 *
 * Builder side: parseClaimsFromModel (model output → checked claims), the prompt helpers
 * (claimContract, defaultInstructions, fieldDescriptions), canonicalPayloadJson (RFC 8785) and
 * postHandoff. Both sides: validateHandoffPayload (ajv, draft 2020-12, compiled once, lazily).
 * The evaluator lives in ../eval.
 */

export {
  type BuildHandoffOptions,
  type BuiltHandoff,
  buildHandoffPayload,
  ProvablyHandoffBuildError,
  type UnresolvedClaim,
} from './build.js';
export { canonicalPayloadJson } from './canonical.js';
export {
  type ClaimSchemaValidator,
  type CompiledClaimSchema,
  compileClaimSchema,
  MAX_CLAIM_SCHEMA_CHARS,
} from './claim-schema.js';
export {
  MAX_BODY_EXCERPT_CHARS,
  MAX_SCHEMA_ISSUES,
  type ModelClaimsFailure,
  ProvablyHandoffPostError,
  ProvablyHandoffSchemaError,
  ProvablyModelClaimsError,
  type SchemaIssue,
} from './errors.js';
export { canonicalJson } from './jcs.js';
export { jsonPathError } from './jsonpath.js';
export { type ParseClaimsOptions, type ParsedModelClaims, parseClaimsFromModel } from './parse.js';
export { type PostHandoffOptions, type PostHandoffResult, postHandoff } from './post.js';
export {
  type ClaimContractOptions,
  claimContract,
  defaultInstructions,
  EXAMPLE_RECORD_ID,
  exampleOutput,
  fieldDescriptions,
  type PromptOptions,
} from './prompt.js';
export { recordContentOf } from './record.js';
export {
  HANDOFF_PAYLOAD_SCHEMA_ID,
  handoffPayloadSchema,
  type SchemaCheck,
  validateHandoffPayload,
  validateModelClaims,
} from './schema.js';
export {
  type HandoffCheckpoint,
  type HandoffClaim,
  type HandoffHeaders,
  type HandoffPayload,
  type HandoffProofBundle,
  type HandoffRecordContent,
  type HandoffRecordContentV1,
  type HandoffRecordContentV2,
  type JsonValue,
  type ModelClaim,
  OUTCOMES,
  type Outcome,
  VERIFICATION_MODES,
  type VerificationMode,
} from './types.js';

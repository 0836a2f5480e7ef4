/** Span attributes that make a span a provably scope. */
export const SCOPE_ATTRIBUTES = Object.freeze({
  agentId: 'provably.agent_id',
  actionName: 'provably.action_name',
  interceptIndex: 'provably.intercept_index',
} as const);

/**
 * OpenTelemetry GenAI semantic-convention attributes read when the GenAI mapping is on
 * (`PROVABLY_SCOPE_FROM_GENAI=1`): a tool span becomes a scope without code changes.
 */
export const GEN_AI_ATTRIBUTES = Object.freeze({
  toolName: 'gen_ai.tool.name',
  agentName: 'gen_ai.agent.name',
} as const);

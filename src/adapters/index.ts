/**
 * adapters — governing agent frameworks' tools with one line: each tool call runs in a provably
 * scope (agent, action = tool name), optionally behind a policy gateway, and a blocked call comes
 * back to the model as a tool result that says why (`BLOCKED: …`) instead of `fetch failed`.
 *
 * The framework faces (provably/ai, provably/langchain, provably/openai-agents) import only
 * types from their frameworks: provably works without them installed.
 */
export { type BlockedCall, type BlockedFormatter, findBlocked, formatBlocked } from './blocked.js';
export { type GovernOptions, isGoverned } from './govern.js';
export { type Governed, governTool } from './tool.js';

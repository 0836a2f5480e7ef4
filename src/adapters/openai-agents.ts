/**
 * provably/openai-agents — @openai/agents: govern `tool()` definitions or an Agent's tools.
 *
 *   const agent = governAgent(new Agent({ name: 'researcher', tools: [fetchPage] }), { agentId: 'researcher' });
 *
 * Each function tool's `invoke` runs governed. @openai/agents catches a tool's error and gives
 * the model a fixed text ("An error occurred while running the tool. Please try again."); when a
 * block was made during the call, the adapter replaces that text with the blocked text (the block
 * is witnessed as it is made, see witness.ts). A custom `errorFunction`'s answer is kept as it is.
 * Hosted tools (web search, file search, …) run at OpenAI and are left as they are. Only types are
 * shared with @openai/agents (none imported).
 */
import { ProvablyConfigError } from '../errors/index.js';
import { findBlocked } from './blocked.js';
import {
  type Governance,
  type GovernOptions,
  governEach,
  governHolder,
  isGoverned,
  markGoverned,
  runGoverned,
  textFor,
} from './govern.js';
import { witnessBlocks } from './witness.js';

export { type BlockedCall, type BlockedFormatter, findBlocked, formatBlocked } from './blocked.js';
export { type GovernOptions, isGoverned } from './govern.js';
export { type Governed, governTool } from './tool.js';

/** The text @openai/agents' default errorFunction gives the model (agents-core tool.ts). */
export const OPENAI_AGENTS_GENERIC_ERROR = 'An error occurred while running the tool. Please try again.';

/** The part of a FunctionTool provably needs. */
interface ToolLike {
  type?: unknown;
  name?: unknown;
  invoke?: unknown;
}

/** The part of an Agent provably needs. */
interface AgentLike {
  tools: ToolLike[];
}

const WHERE = 'provably/openai-agents';

/**
 * Copies of `tools` whose function tools run governed (action = the tool's name). Other tools
 * (hosted, computer) are kept as they are, as are tools already governed.
 */
export function governTools<T extends ToolLike>(tools: readonly T[], options: GovernOptions): T[] {
  return governEach(tools, options, `${WHERE} governTools`, governOne);
}

/**
 * Governs `agent`'s function tools in place (its `tools` array is replaced by governed copies)
 * and returns the agent. Agents it hands off to keep their own tools: govern them too.
 */
export function governAgent<A extends AgentLike>(agent: A, options: GovernOptions): A {
  return governHolder(agent, options, `${WHERE} governAgent`, 'an Agent', governOne);
}

function governOne<T extends ToolLike>(tool: T, gov: Governance): T {
  if (tool === null || typeof tool !== 'object') {
    throw new ProvablyConfigError(WHERE, 'expected tool objects (from tool())');
  }
  if (tool.type !== 'function' || typeof tool.invoke !== 'function' || isGoverned(tool)) return tool;
  if (typeof tool.name !== 'string' || tool.name === '') {
    throw new ProvablyConfigError(WHERE, 'a function tool without a name');
  }
  const name = tool.name;
  const invoke = tool.invoke as (...args: unknown[]) => unknown;
  const governed = {
    ...tool,
    invoke(this: unknown, runContext: unknown, input: unknown, details: unknown): unknown {
      const seen: Error[] = [];
      const result = runGoverned(gov, name, parseInput(input), () =>
        witnessBlocks(seen, () => invoke.call(this, runContext, input, details)),
      );
      return Promise.resolve(result).then((value) => {
        if (value !== OPENAI_AGENTS_GENERIC_ERROR || seen.length === 0) return value;
        // The SDK swallowed a block and says only "an error occurred": say which, and why.
        const blocked = findBlocked(seen[0], { agentId: gov.agentId, actionName: name });
        return blocked === undefined ? value : textFor(gov, blocked);
      });
    },
  };
  return markGoverned(governed, gov, name) as T;
}

/** The tool's arguments as the policy should see them: @openai/agents passes them as JSON text. */
function parseInput(input: unknown): unknown {
  if (typeof input !== 'string') return input;
  try {
    return JSON.parse(input);
  } catch {
    return input;
  }
}

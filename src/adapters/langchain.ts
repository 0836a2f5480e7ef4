/**
 * provably/langchain — LangChain tools (StructuredTool, DynamicStructuredTool, `tool()` results)
 * and tool nodes.
 *
 *   const agent = createAgent({ model, tools: governTools([fetchPage, lookup], { agentId: 'researcher' }) });
 *
 * A tool's `_call` (where every LangChain tool runs its body, after input validation) runs
 * governed; the governed tool is a new object whose prototype is the original, so it is still an
 * instance of its class and shares its state, and the original is not changed. Only types are
 * shared with @langchain/core (none imported).
 */
import { ProvablyConfigError } from '../errors/index.js';
import {
  type Governance,
  type GovernOptions,
  governEach,
  governHolder,
  isGoverned,
  markGoverned,
  runGoverned,
} from './govern.js';

export { type BlockedCall, type BlockedFormatter, findBlocked, formatBlocked } from './blocked.js';
export { type GovernOptions, isGoverned } from './govern.js';
export { type Governed, governTool } from './tool.js';

/** The part of a LangChain tool provably needs. */
interface ToolLike {
  name: string;
  responseFormat?: unknown;
}

/** The part of a ToolNode (langchain, @langchain/langgraph) provably needs. */
interface ToolNodeLike {
  tools: ToolLike[];
}

const WHERE = 'provably/langchain';

/** Governed versions of `tools` (action = each tool's name); tools already governed are kept. */
export function governTools<T extends ToolLike>(tools: readonly T[], options: GovernOptions): T[] {
  return governEach(tools, options, `${WHERE} governTools`, governOne);
}

/** Governs a ToolNode's tools in place and returns the node. */
export function governToolNode<N extends ToolNodeLike>(node: N, options: GovernOptions): N {
  return governHolder(node, options, `${WHERE} governToolNode`, 'a ToolNode', governOne);
}

function governOne<T extends ToolLike>(tool: T, gov: Governance): T {
  const call = (tool as { _call?: unknown } | null)?._call;
  if (tool === null || typeof tool !== 'object' || typeof call !== 'function') {
    throw new ProvablyConfigError(
      WHERE,
      `expected LangChain tools (StructuredTool, tool()); got ${describe(tool)} without a _call method`,
    );
  }
  if (isGoverned(tool)) return tool;
  if (typeof tool.name !== 'string' || tool.name === '')
    throw new ProvablyConfigError(WHERE, 'a tool without a name');
  const name = tool.name;
  const governed = Object.create(tool) as T & { _call: (...args: unknown[]) => unknown };
  Object.defineProperty(governed, '_call', {
    configurable: true,
    writable: true,
    value(this: unknown, arg: unknown, runManager: unknown, config: unknown): unknown {
      const result = runGoverned(gov, name, arg, () => call.call(this, arg, runManager, config));
      if (tool.responseFormat !== 'content_and_artifact') return result;
      // A blocked call answers text; such tools must answer [content, artifact].
      return Promise.resolve(result).then((v) => (typeof v === 'string' ? [v, undefined] : v));
    },
  });
  return markGoverned(governed, gov, name);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as { constructor?: { name?: string } }).constructor?.name ?? 'an object';
}

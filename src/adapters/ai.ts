/**
 * provably/ai — the `ai` SDK (Vercel AI SDK): govern a ToolSet, each tool's `execute`.
 *
 *   const result = streamText({ model, tools: governTools({ fetch_page, lookup }, { agentId: 'researcher' }) });
 *
 * Tools without `execute` (client-side tools, provider-executed tools) are left as they are:
 * nothing runs here for them. Only types are shared with `ai` (none imported): provably works
 * without it installed.
 */
import { ProvablyConfigError } from '../errors/index.js';
import { type GovernOptions, isGoverned, markGoverned, resolveGovernance, runGoverned } from './govern.js';

export { type BlockedCall, type BlockedFormatter, findBlocked, formatBlocked } from './blocked.js';
export { type GovernOptions, isGoverned } from './govern.js';
export { type Governed, governTool } from './tool.js';

/** The part of an `ai` tool provably needs. */
interface AiToolLike {
  execute?: ((input: never, options: never) => unknown) | undefined;
}

/**
 * A copy of `tools` where every tool with an `execute` runs it governed (action = the tool's key
 * in the set). The originals are not changed; a tool already governed is kept as is.
 * Throws ProvablyConfigError for a set that is not an object or a missing agent.
 */
export function governTools<T extends Record<string, AiToolLike>>(tools: T, options: GovernOptions): T {
  const gov = resolveGovernance(options, 'provably/ai governTools');
  if (tools === null || typeof tools !== 'object' || Array.isArray(tools)) {
    throw new ProvablyConfigError('provably/ai governTools', 'expected a ToolSet object { name: tool }');
  }
  const out: Record<string, unknown> = {};
  for (const [name, tool] of Object.entries(tools)) {
    if (tool === null || typeof tool !== 'object') {
      throw new ProvablyConfigError(`provably/ai governTools: ${name}`, 'expected a tool object');
    }
    const execute = tool.execute;
    if (typeof execute !== 'function' || isGoverned(tool)) {
      out[name] = tool;
      continue;
    }
    const governed = {
      ...tool,
      execute(this: unknown, input: unknown, callOptions: unknown): unknown {
        return runGoverned(gov, name, input, () =>
          (execute as (input: unknown, options: unknown) => unknown).call(this, input, callOptions),
        );
      },
    };
    out[name] = markGoverned(governed, gov, name);
  }
  return out as T;
}

/**
 * governTool — the plain wrapper, for any tool loop without an adapter of its own
 * (`openai.chat.completions.runTools`, a hand-written Anthropic `messages.create` loop, …):
 *
 *   const getPage = governTool('fetch_page', async ({ url }) => (await fetch(url)).text(),
 *     { agentId: 'researcher' });
 */
import { ProvablyConfigError } from '../errors/index.js';
import {
  checkToolName,
  type GovernOptions,
  isGoverned,
  markGoverned,
  resolveGovernance,
  runGoverned,
} from './govern.js';

/**
 * What a governed function returns: the body's value or, for a blocked call, the blocked text —
 * as a promise, or, for a body that returns an async iterable (a streaming tool), an iterable.
 */
export type Governed<R> =
  R extends AsyncIterable<infer T> ? AsyncIterable<T | string> : Promise<Awaited<R> | string>;

/**
 * Wraps `fn` so each call runs in a provably scope (`agentId`, action = `name`), behind
 * `options.gateway` when given, and answers a blocked call with the blocked text instead of
 * throwing. Other errors propagate unchanged. A function already governed is returned as is.
 * Throws ProvablyConfigError for a missing name, agent or function.
 */
export function governTool<A extends unknown[], R>(
  name: string,
  fn: (...args: A) => R,
  options: GovernOptions,
): (...args: A) => Governed<R> {
  checkToolName(name, 'governTool');
  if (typeof fn !== 'function') throw new ProvablyConfigError('governTool', 'expected a function to govern');
  const gov = resolveGovernance(options, 'governTool');
  if (isGoverned(fn)) return fn as unknown as (...args: A) => Governed<R>;
  const governed = function (this: unknown, ...args: A): Governed<R> {
    return runGoverned(gov, name, args[0], () => fn.apply(this, args)) as Governed<R>;
  };
  Object.defineProperty(governed, 'name', { value: fn.name || name });
  return markGoverned(governed, gov, name);
}

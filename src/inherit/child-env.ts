/**
 * The environment a child started inside a scope gets: the preload in NODE_OPTIONS, the scope
 * (carrier.ts), and the parent's provably settings it lacks, so it records into the same store
 * and org. Switches that would turn governance off in the child are removed.
 */
import { readStoreConfig } from '../config/index.js';
import { carrierEnv, SCOPE_ENV, type ScopeCarrier } from './carrier.js';
import { loadsPreload, type RegisterFiles } from './register-url.js';

/** Settings a scoped child must not carry: they would switch governance off in it. */
const DISARMING = ['PROVABLY_DISABLED', 'PROVABLY_ENABLED'];
const SCOPE_NAMES: ReadonlySet<string> = new Set(Object.values(SCOPE_ENV));

/**
 * Rewrites `env` (a child's whole environment, modified in place) for a child running inside
 * `carrier`'s scope.
 */
export function governChildEnv(
  env: Record<string, string | undefined>,
  carrier: ScopeCarrier,
  files: RegisterFiles,
): void {
  for (const [name, value] of Object.entries(process.env)) {
    const isSetting = name.startsWith('PROVABLY_') || name === 'POSTGRES_URL';
    if (!isSetting || SCOPE_NAMES.has(name) || DISARMING.includes(name) || value === undefined) continue;
    if (env[name] === undefined) env[name] = value;
  }
  // The parent's data dir, absolute: a relative one would name another dir in another cwd.
  if (env.PROVABLY_DATA_DIR === undefined) env.PROVABLY_DATA_DIR = readStoreConfig(process.env).dataDir;
  for (const name of DISARMING) delete env[name];
  for (const [name, value] of Object.entries(carrierEnv(carrier))) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const options = env.NODE_OPTIONS ?? '';
  if (!loadsPreload(splitOptions(options), files)) {
    env.NODE_OPTIONS = `${options.trim()} --import=${files.esmUrl}`.trim();
  }
}

/** NODE_OPTIONS as Node splits it: whitespace-separated, double quotes group. */
function splitOptions(s: string): string[] {
  return s.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
}

/** `K=V` pairs (how ChildProcess.spawn receives the environment) to an object and back. */
export function pairsToEnv(pairs: readonly string[]): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=', 1);
    if (eq === -1) continue;
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

export function envToPairs(env: Record<string, string | undefined>): string[] {
  const pairs: string[] = [];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) pairs.push(`${k}=${v}`);
  return pairs;
}

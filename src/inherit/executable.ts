/**
 * What a child process will run: a Node binary (which inherits the preload and the scope) or
 * something else (refused inside a scope unless PROVABLY_CHILD_EXECUTABLES allows it).
 *
 * A Node child is one whose executable, resolved the way the spawn will resolve it (relative to
 * the child's cwd, bare names through the child's PATH) and then through symlinks, is this
 * process's own binary or a file named `node`/`nodejs`. Anything that cannot be resolved is not
 * Node (the decision fails closed; such a spawn would fail anyway).
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import type { ChildExecutablesPolicy } from '../config/child-executables.js';

export interface ResolvedExecutable {
  /** The executable as the caller named it. */
  readonly given: string;
  /** The absolute path it resolves to, or null. */
  readonly path: string | null;
  /** `path` through symlinks, or null. */
  readonly real: string | null;
  readonly isNode: boolean;
}

let ownBinary: string | null | undefined;

function realOrNull(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Resolves `file` as spawn would, with the child's PATH (`pathEnv`) and cwd. */
export function resolveExecutable(
  file: string,
  pathEnv: string | undefined,
  cwd: string | undefined,
): ResolvedExecutable {
  let path: string | null = null;
  if (file.includes('/') || file.includes('\\')) {
    path = isAbsolute(file) ? file : resolve(cwd ?? process.cwd(), file);
  } else {
    for (const dir of (pathEnv ?? process.env.PATH ?? '').split(delimiter)) {
      if (dir === '') continue;
      const candidate = resolve(cwd ?? process.cwd(), join(dir, file));
      if (isExecutableFile(candidate)) {
        path = candidate;
        break;
      }
    }
  }
  const real = path === null ? null : realOrNull(path);
  if (ownBinary === undefined) ownBinary = realOrNull(process.execPath);
  const isNode = real !== null && (real === ownBinary || /^node(js)?$/.test(basename(real)));
  return { given: file, path, real, isNode };
}

/** Whether the allowlist lets this non-Node executable start inside a scope. */
export function isAllowedExecutable(exe: ResolvedExecutable, policy: ChildExecutablesPolicy): boolean {
  if (policy.all) return true;
  const names = [exe.given, exe.path, exe.real]
    .filter((n): n is string => n !== null)
    .map((n) => basename(n));
  if (!exe.given.includes('/') && policy.names.has(exe.given)) return true;
  if (names.some((n) => policy.names.has(n))) return true;
  return [exe.path, exe.real].some((p) => p !== null && policy.paths.has(p));
}

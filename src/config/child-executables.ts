/**
 * PROVABLY_CHILD_EXECUTABLES: which non-Node executables a provably scope may start as child
 * processes. Comma-separated entries, each a bare name (`git`, matched against the basename of
 * the executable as spawned and as resolved through PATH) or an absolute path (matched against
 * the path as given and its real path). `*` allows every executable (opt-out of the refusal).
 * Unset or empty: none (every non-Node executable, shells included, is refused inside a scope).
 */
import { isAbsolute, normalize } from 'node:path';
import { ProvablyConfigError } from '../errors/index.js';
import type { Env } from './index.js';
import { splitList } from './list.js';

export const CHILD_EXECUTABLES_ENV = 'PROVABLY_CHILD_EXECUTABLES';

export interface ChildExecutablesPolicy {
  /** `*`: every executable may be started (its traffic is then not governed). */
  readonly all: boolean;
  /** Bare names, e.g. `git`. */
  readonly names: ReadonlySet<string>;
  /** Absolute, normalized paths. */
  readonly paths: ReadonlySet<string>;
}

export function readChildExecutables(env: Env = process.env): ChildExecutablesPolicy {
  return parseChildExecutables(env[CHILD_EXECUTABLES_ENV] ?? '', CHILD_EXECUTABLES_ENV);
}

/** Parses the comma-separated list (also used for the same option given in code). */
export function parseChildExecutables(raw: string, setting = CHILD_EXECUTABLES_ENV): ChildExecutablesPolicy {
  const names = new Set<string>();
  const paths = new Set<string>();
  let all = false;
  for (const entry of splitList(raw)) {
    if (entry === '*') {
      all = true;
    } else if (isAbsolute(entry)) {
      paths.add(normalize(entry));
    } else if (/[\\/]/.test(entry) || entry === '.' || entry === '..' || /[\0\s]/.test(entry)) {
      throw new ProvablyConfigError(
        setting,
        `${JSON.stringify(entry)} is neither a bare executable name (like "git") nor an absolute path (like "/usr/bin/git")`,
      );
    } else {
      names.add(entry);
    }
  }
  return { all, names, paths };
}

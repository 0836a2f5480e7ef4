/**
 * Span visibility: can provably see the spans it was asked to govern (GenAI span mapping)?
 *
 * A span made through a copy of `@opentelemetry/api` that cannot use the registered globals is a
 * no-op span: it carries no attributes, so a tool call inside it looks like a call outside any
 * scope and would go out ungoverned. provably cannot see those spans, so it must say so — once
 * per cause, as a diag warning, and counted in `provablyStatus().spanWarnings` — never silently.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { diag } from '../diag/index.js';
import { sharedState } from './globals.js';

/** Reports one span-visibility problem (once per key for the process) and counts it. */
export function warnSpanVisibility(key: string, message: string): void {
  const v = sharedState.visibility;
  if (v.keys.includes(key)) return;
  v.keys.push(key);
  v.warnings += 1;
  diag.warn(message);
}

/** Span-visibility warnings issued so far in this process. */
export function spanWarnings(): number {
  return sharedState.visibility.warnings;
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(-.+)?$/;

/**
 * Whether an API copy at `reader` uses globals registered by `registered`: the rule of
 * `@opentelemetry/api`'s own isCompatible (internal/semver) — same major, the reader's minor not
 * above the registry's (a newer API may call what an older registry lacks); a prerelease matches
 * only itself. Re-stated here because the API does not export it.
 */
export function apiAccepts(reader: string, registered: string): boolean {
  if (reader === registered) return true;
  const r = SEMVER.exec(reader);
  const g = SEMVER.exec(registered);
  if (r === null || g === null || r[4] !== undefined || g[4] !== undefined) return false;
  if (r[1] !== g[1]) return false;
  if (r[1] === '0') return r[2] === g[2] && Number(r[3]) <= Number(g[3]);
  return Number(r[2]) <= Number(g[2]);
}

/**
 * Versions of the `@opentelemetry/api` the application itself resolves — from its main module's
 * folder and from the working directory — read from the package.json next to the resolved entry
 * (the package exports no `./package.json`). Copies nested deeper (a framework's own pinned
 * API) cannot be found this way; they are covered when their version is at most the registry's.
 */
export function applicationApiVersions(bases: readonly string[] = applicationBases()): Map<string, string> {
  const found = new Map<string, string>();
  for (const base of bases) {
    try {
      const entry = createRequire(base).resolve('@opentelemetry/api');
      const pkg = packageJsonOf(entry);
      if (pkg !== undefined && !found.has(pkg.path)) found.set(pkg.path, pkg.version);
    } catch {
      // Not installed for the application: nothing to check there.
    }
  }
  return found;
}

/** Files the application resolves its packages from: its main module, the working directory. */
function applicationBases(): string[] {
  const bases = [join(process.cwd(), 'noop.js')];
  const main = process.argv[1];
  if (main !== undefined && main !== '' && !main.startsWith('-')) bases.push(resolve(main));
  return bases;
}

/** The `@opentelemetry/api` package.json above a resolved entry file (path and version). */
export function packageJsonOf(entry: string): { path: string; version: string } | undefined {
  let dir = dirname(entry);
  for (let i = 0; i < 6; i++) {
    const path = join(dir, 'package.json');
    try {
      const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === '@opentelemetry/api' && typeof pkg.version === 'string') {
        return { path, version: pkg.version };
      }
    } catch {
      // No package.json at this level: keep walking up.
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

/**
 * Warns for every API copy the application resolves that refuses the registry at `registered`
 * (its tracers would stay no-ops). Never throws.
 */
export function checkApplicationApis(
  registered: string | undefined,
  bases: readonly string[] = applicationBases(),
): void {
  if (registered === undefined) return;
  try {
    for (const [path, version] of applicationApiVersions(bases)) {
      if (!apiAccepts(version, registered)) {
        warnSpanVisibility(
          `api-version:${version}`,
          `GenAI span mapping: the application's @opentelemetry/api ${version} (${path}) refuses the ` +
            `OpenTelemetry globals registered at v${registered}: spans made through it are no-ops that ` +
            'provably cannot see, so calls inside them are NOT governed. Align the versions.',
        );
      }
    }
  } catch (err) {
    diag.debug('could not check the application’s @opentelemetry/api versions', err);
  }
}

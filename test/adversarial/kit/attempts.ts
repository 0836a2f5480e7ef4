/**
 * The attempts as data (test/adversarial/attempts/*.mjs, run as they are by the agent process) and
 * the groups they run in: one agent process per group, with the group's kind of scope, preload
 * order and environment.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Need, TargetInfo } from './targets.js';

export const ADVERSARIAL_DIR = fileURLToPath(new URL('../', import.meta.url));

export interface Attempt {
  id: string;
  class: string;
  description: string;
  needs: Need[];
  /**
   * blocked (default): the scoped call is refused with PROVABLY_BLOCKED, the untrusted targets saw
   * nothing. mixed: run returns { scoped, unscoped } outcomes (see async-mixing.mjs). allowed: a
   * positive control that must go through and be recorded as the trusted server's answer.
   * unscoped: a control made outside any scope: goes through, reaches the target, no row.
   */
  kind?: 'blocked' | 'mixed' | 'allowed' | 'unscoped';
  /** A setup step run outside any scope before the scoped part (a function in the module). */
  outside?: unknown;
  /** The attempt's `outside` part talks to the untrusted target legitimately (outside any scope). */
  outsideTraffic?: boolean;
  /** Mixed attempts whose scoped calls go to the TRUSTED server (must succeed). */
  trustedOnly?: boolean;
  /**
   * Not governed on purpose: `readme` is the README sentence saying so, and the attempt must show
   * EXACTLY this behaviour (refused or not; what its targets saw), neither better nor worse.
   */
  residual?: Residual;
}

export interface Residual {
  readme: string;
  blocked: boolean;
  /** Connections (datagrams for UDP) and bytes each target kind must have seen. */
  targets: Partial<Record<Need, { connections: number; bytes: number }>>;
}

export type ScopeKind = 'context' | 'genai-esm' | 'genai-cjs' | 'genai-19';

export interface Group {
  name: string;
  modules: string[];
  attempts: Attempt[];
  scope: ScopeKind;
  /**
   * Load kit/capture.mjs (`import`) or kit/capture.cjs (`require`) before the preload: code that
   * captured the originals early.
   */
  captureFirst?: 'import' | 'require';
  /** Extra environment, given this group's targets. */
  env?: (targets: Record<string, TargetInfo>) => Record<string, string>;
}

const modulePath = (name: string) => join(ADVERSARIAL_DIR, 'attempts', `${name}.mjs`);

export async function loadAttempts(name: string): Promise<Attempt[]> {
  const mod = (await import(modulePath(name))) as { default: Attempt[] };
  return mod.default.map((a) => ({ ...a, needs: a.needs ?? ['http'] }));
}

function group(name: string, modules: string[], attempts: Attempt[], extra: Partial<Group> = {}): Group {
  return { name, modules: modules.map(modulePath), attempts, scope: 'context', ...extra };
}

/** Every group of the suite, in run order. */
export async function loadGroups(): Promise<Group[]> {
  const groups: Group[] = [];
  // One agent process for every interceptContext attempt: a process start and a store open per
  // group is most of the suite's time on two cores.
  const plain = ['controls', 'proxies', 'sockets', 'raw', 'processes', 'redirects-urls', 'async-mixing'];
  const attempts: Attempt[] = [];
  for (const name of plain) attempts.push(...(await loadAttempts(name)));
  groups.push(group('interceptContext', plain, attempts));

  const genai = await loadAttempts('genai');
  for (const scope of ['genai-esm', 'genai-cjs', 'genai-19'] as const) {
    groups.push(
      group(
        scope,
        ['genai'],
        genai.map((a) => ({ ...a, id: `${scope}:${a.id}` })),
        { scope, env: () => ({ PROVABLY_SCOPE_FROM_GENAI: '1' }) },
      ),
    );
  }
  const preloaded = await loadAttempts('preloaded');
  groups.push(group('preloaded', ['preloaded'], preloaded, { captureFirst: 'import' }));
  groups.push(
    group(
      'preloaded-cjs',
      ['preloaded'],
      preloaded.map((a) => ({ ...a, id: `cjs:${a.id}` })),
      { captureFirst: 'require' },
    ),
  );
  // The proxy comes from the environment at start: one process per attempt, so that the target
  // named by HTTP_PROXY is that attempt's own.
  for (const a of await loadAttempts('env-proxy')) {
    groups.push(
      group(`env-proxy ${a.id}`, ['env-proxy'], [a], {
        env: (targets) => {
          const url = `http://127.0.0.1:${targets[a.id]?.http}`;
          return {
            NODE_USE_ENV_PROXY: '1',
            HTTP_PROXY: url,
            HTTPS_PROXY: url,
            http_proxy: url,
            https_proxy: url,
          };
        },
      }),
    );
  }
  return groups;
}

/** Attempt ids a group's runner is given (genai ids carry the scope prefix, modules do not). */
export function runnerIds(g: Group): string[] {
  return g.attempts.map((a) => a.id);
}

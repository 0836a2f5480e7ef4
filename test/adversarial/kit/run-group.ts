/**
 * Runs one group of attempts: starts each attempt's own untrusted targets, one agent process with
 * the real preload for the whole group, then collects what every target saw (after the process
 * is gone and every socket closed) and the rows of the group's store.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { InterceptRecord } from '../../../src/record/index.js';
import { type AgentRun, runAgent } from '../../e2e/child.js';
import type { E2EStore } from '../../e2e/stores.js';
import { ADVERSARIAL_DIR, type Group } from './attempts.js';
import type { AttemptOutcome } from './check.js';
import { startUntrusted, type TargetInfo, type UntrustedTargets } from './targets.js';

const RUNNER = '../../adversarial/kit/runner.mjs'; // relative to test/fixtures/e2e
const CAPTURE = join(ADVERSARIAL_DIR, 'kit/capture.mjs');
const CAPTURE_CJS = join(ADVERSARIAL_DIR, 'kit/capture.cjs');

/** Proxy settings of the test's own environment never reach the agent. */
const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'NODE_USE_ENV_PROXY'];

export interface SharedSetup {
  trusted: string;
  trustedTls: string;
  trustedCa: string;
  proxy: string;
}

export interface GroupRun {
  outcomes: Record<string, AttemptOutcome>;
  stray: unknown[];
  targets: Map<string, UntrustedTargets>;
  rows: InterceptRecord[];
  run: AgentRun<{ outcomes: Record<string, AttemptOutcome>; stray: unknown[] }>;
  close(): Promise<void>;
}

export async function runGroup(
  group: Group,
  store: E2EStore,
  shared: SharedSetup,
  extra: { handoffDir?: string; env?: Record<string, string> } = {},
): Promise<GroupRun> {
  const dir = mkdtempSync(join(tmpdir(), 'provably-adv-'));
  const targets = new Map<string, UntrustedTargets>();
  try {
    for (const a of group.attempts) targets.set(a.id, await startUntrusted(a.id, a.needs, dir));
    const infos: Record<string, TargetInfo> = {};
    for (const [id, t] of targets) infos[id] = t.info;
    const configFile = join(dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        modules: group.modules,
        ids: group.attempts.map((a) => a.id),
        scope: group.scope,
        targets: infos,
        trusted: shared.trusted,
        trustedTls: shared.trustedTls,
        trustedCa: shared.trustedCa,
        proxy: shared.proxy,
        handoffDir: extra.handoffDir,
        warmUp: group.scope === 'context' && group.env === undefined,
      }),
    );
    const env = store.env({
      ADV_CONFIG: configFile,
      PROVABLY_EGRESS_PROXIES: shared.proxy,
      ...(group.env?.(infos) ?? {}),
      ...(extra.env ?? {}),
    });
    for (const v of PROXY_VARS) {
      if (!group.env?.(infos)?.[v]) {
        delete env[v];
        delete env[v.toLowerCase()];
      }
    }
    if (group.captureFirst === 'import')
      env.NODE_OPTIONS = `--import ${pathToFileURL(CAPTURE).href} --import provably/register`;
    if (group.captureFirst === 'require')
      env.NODE_OPTIONS = `--require ${CAPTURE_CJS} --import provably/register`;
    const run = await runAgent<{ outcomes: Record<string, AttemptOutcome>; stray: unknown[] }>(RUNNER, {
      env,
      preload: group.captureFirst ? 'none' : 'flag',
      timeoutMs: 170_000,
    });
    // The process is gone: let every target notice its sockets closing, then read the counts.
    await new Promise((r) => setTimeout(r, 150));
    await Promise.all([...targets.values()].map((t) => t.drained()));
    const rows = await store.rows();
    return {
      outcomes: run.result.outcomes,
      stray: run.result.stray,
      targets,
      rows,
      run,
      async close() {
        await Promise.all([...targets.values()].map((t) => t.close()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all([...targets.values()].map((t) => t.close()));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The rows that concern attempt `id`: tagged with its action, or holding its target's bytes. */
export function rowsOf(rows: InterceptRecord[], id: string): InterceptRecord[] {
  const marker = `untrusted:${id}`;
  return rows.filter((r) => {
    if (r.actionName === id) return true;
    const served = r.responseHeaders?.['x-served-by'];
    const body = Buffer.from(r.responseBody ?? new Uint8Array()).toString('utf8');
    return served === marker || body === marker;
  });
}

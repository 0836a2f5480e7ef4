/**
 * Agent processes for the end-to-end suite: a fixture under test/fixtures/e2e run by a NEW Node
 * process (the one running vitest: process.execPath) with the real preload from the BUILT
 * package, exactly as a user starts an agent:
 *
 *   node --import provably/register test/fixtures/e2e/<fixture>      (preload: 'flag', default)
 *   NODE_OPTIONS='--import provably/register' node <fixture>          (preload: 'node-options')
 *
 * cwd is the repository root, so 'provably' resolves through the package's self-reference to
 * dist/ (`npm test` builds first; a missing build fails loudly).
 *
 *   const run = await runAgent('record.mjs', { env });          // waits for exit
 *   run.result                                                   // what the fixture reported
 *
 *   const agent = startAgent('refresh.mjs', { env, stdin: true }); // interactive
 *   await agent.next('ready'); agent.send('call …'); …; agent.send('exit'); await agent.done;
 *
 *   const servers = useAgentServers();                           // top level of a test file
 *   runAgent('x.mjs', { env: store.env({ ...servers.env }) });   // TRUSTED / UNTRUSTED
 *
 * Children must finish by themselves: after the fixture printed its result, its event loop has
 * `exitGraceMs` (default 5 s, E2E_EXIT_GRACE_MS overrides) to drain — measured up to the
 * process's 'exit' event (the fixture reports it), not to the OS teardown, which a loaded machine
 * can slow down. If it does not drain, something keeps the event loop alive, which is a product
 * bug for a preload: the child is killed and the run fails with what the fixture saw as active
 * resources. An overall `timeoutMs` guards hangs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { type CountingServer, startCountingServer } from '../helpers/counting-server.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = join(ROOT, 'test/fixtures/e2e');
const DIST_REGISTER = join(ROOT, 'dist/register.js');

const MARK = '@e2e ';
const EXIT_MARK = '@e2e-exit';
const DEFAULT_EXIT_GRACE_MS = Number(process.env.E2E_EXIT_GRACE_MS ?? '') || 5_000;

export type Preload = 'flag' | 'node-options' | 'none';

export interface AgentOptions {
  /** The child's whole environment (start from cleanEnv(); the store helpers provide one). */
  env: NodeJS.ProcessEnv;
  preload?: Preload;
  /** Extra arguments after the fixture path. */
  args?: string[];
  /** Keep stdin open for commands (interactive fixtures). Default: no stdin. */
  stdin?: boolean;
  /** Whole-run limit (default 60 s). */
  timeoutMs?: number;
  /** Time allowed between the result line and the process exit (default 5 s). */
  exitGraceMs?: number;
  /** Resolve `done` even when the child fails or prints no result (default: reject). */
  allowFailure?: boolean;
}

export interface AgentEvent {
  type: 'event';
  event: string;
  [key: string]: unknown;
}

export interface AgentRun<R = Record<string, unknown>> {
  fixture: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The fixture's result, or undefined when it printed none. */
  result: R;
  events: AgentEvent[];
  /**
   * Milliseconds from spawn to the result line, from the result line to the 'exit' event (the
   * event loop drained), and from there until the process was gone.
   */
  workMs: number | undefined;
  exitMs: number | undefined;
  teardownMs: number | undefined;
}

export interface Agent<R = Record<string, unknown>> {
  readonly process: ChildProcess;
  readonly fixture: string;
  /** Writes one command line to stdin (needs `stdin: true`). */
  send(line: string): void;
  /** The next event not yet taken (optionally: the next one named `name`, skipping others). */
  next(name?: string, timeoutMs?: number): Promise<AgentEvent>;
  /** Settles when the process has exited (see AgentOptions.allowFailure). */
  readonly done: Promise<AgentRun<R>>;
  /** Everything printed so far, for failure messages. */
  output(): string;
}

function checkBuild(): void {
  if (!existsSync(DIST_REGISTER)) {
    throw new Error(`${DIST_REGISTER} is missing: run \`npx tsup\` (npm test builds first)`);
  }
}

function clip(text: string, max = 4_000): string {
  return text.length <= max ? text : `${text.slice(0, max / 2)}\n…\n${text.slice(-max / 2)}`;
}

export function startAgent<R = Record<string, unknown>>(fixture: string, options: AgentOptions): Agent<R> {
  checkBuild();
  const preload = options.preload ?? 'flag';
  const env: NodeJS.ProcessEnv = { ...options.env };
  const args: string[] = [];
  if (preload === 'flag') args.push('--import', 'provably/register');
  if (preload === 'node-options') env.NODE_OPTIONS = '--import provably/register';
  args.push(join(FIXTURES, fixture), ...(options.args ?? []));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const exitGraceMs = options.exitGraceMs ?? DEFAULT_EXIT_GRACE_MS;

  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let pending = '';
  let result: { data: R } | undefined;
  let resultAt: number | undefined;
  let exitAt: number | undefined;
  const events: AgentEvent[] = [];
  let taken = 0;
  const listeners = new Set<() => void>();
  let exited = false;
  let failure: string | undefined;

  const notify = () => {
    for (const l of [...listeners]) l();
  };

  let graceTimer: NodeJS.Timeout | undefined;
  const kill = (why: string) => {
    if (exited || failure !== undefined) return;
    failure = why;
    child.kill('SIGKILL');
  };
  const overall = setTimeout(
    () => kill(`${fixture} did not finish within ${timeoutMs} ms (hung?)`),
    timeoutMs,
  );

  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    pending += d;
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
      if (line === EXIT_MARK) {
        exitAt = performance.now();
        clearTimeout(graceTimer);
        continue;
      }
      if (!line.startsWith(MARK)) continue;
      let doc: { type?: string; data?: R } & Record<string, unknown>;
      try {
        doc = JSON.parse(line.slice(MARK.length));
      } catch {
        continue;
      }
      if (doc.type === 'event') events.push(doc as AgentEvent);
      else if (doc.type === 'result' && result === undefined) {
        result = { data: doc.data as R };
        resultAt = performance.now();
        if (exitAt === undefined)
          graceTimer = setTimeout(
            () =>
              kill(
                `${fixture} reported its result but did not exit within ${exitGraceMs} ms: something keeps ` +
                  'its event loop alive (a preloaded library must never do that)',
              ),
            exitGraceMs,
          );
      }
    }
    notify();
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });

  const output = () => `--- stdout ---\n${clip(stdout)}\n--- stderr ---\n${clip(stderr)}`;

  const done = new Promise<AgentRun<R>>((resolve, reject) => {
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(overall);
      clearTimeout(graceTimer);
      const end = performance.now();
      notify();
      const run: AgentRun<R> = {
        fixture,
        code,
        signal,
        stdout,
        stderr,
        result: result?.data as R,
        events,
        workMs: resultAt === undefined ? undefined : Math.round(resultAt - t0),
        exitMs: resultAt === undefined ? undefined : Math.round((exitAt ?? end) - resultAt),
        teardownMs: exitAt === undefined ? undefined : Math.round(end - exitAt),
      };
      if (failure !== undefined) {
        reject(new Error(`${failure}\n${output()}`));
        return;
      }
      if (!options.allowFailure && (code !== 0 || result === undefined)) {
        reject(
          new Error(
            `${fixture} exited with ${code ?? signal}${result === undefined ? ' without reporting a result' : ''}\n${output()}`,
          ),
        );
        return;
      }
      resolve(run);
    });
  });
  // Callers may only look at `done` at the end; never let it be an unhandled rejection meanwhile.
  done.catch(() => {});

  return {
    process: child,
    fixture,
    output,
    done,
    send(line: string) {
      if (!child.stdin) throw new Error(`${fixture} was started without stdin`);
      child.stdin.write(`${line}\n`);
    },
    next(name?: string, waitMs = 30_000) {
      return new Promise<AgentEvent>((resolve, reject) => {
        const check = () => {
          while (taken < events.length) {
            const e = events[taken++] as AgentEvent;
            if (name === undefined || e.event === name) {
              finish();
              resolve(e);
              return;
            }
          }
          if (exited) {
            finish();
            reject(new Error(`${fixture} exited before event ${name ?? '(any)'}\n${output()}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`${fixture}: no event ${name ?? '(any)'} within ${waitMs} ms\n${output()}`));
        }, waitMs);
        const finish = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Runs a fixture to completion; rejects unless it reports a result, exits 0 and exits promptly. */
export function runAgent<R = Record<string, unknown>>(
  fixture: string,
  options: AgentOptions,
): Promise<AgentRun<R>> {
  return startAgent<R>(fixture, options).done;
}

// ---- the servers an agent calls ----------------------------------------------------------------

export interface AgentServers {
  /** The server the tests trust paths on; the fixtures read its URL from TRUSTED. */
  readonly trusted: CountingServer;
  /** A server never trusted (UNTRUSTED): a refused call must leave no trace on it. */
  readonly untrusted: CountingServer;
  /** TRUSTED and UNTRUSTED for the agent's environment: `store.env({ ...servers.env, X: '1' })`. */
  readonly env: { TRUSTED: string; UNTRUSTED: string };
}

/**
 * A trusted and an untrusted counting server for the agents of one test file, started before its
 * tests and closed after them. Call it at the top level of the file; read the servers in tests.
 */
export function useAgentServers(): AgentServers {
  let servers: [CountingServer, CountingServer] | undefined;
  beforeAll(async () => {
    servers = await Promise.all([startCountingServer(), startCountingServer()]);
  });
  afterAll(async () => {
    await Promise.all(servers?.map((server) => server.close()) ?? []);
  });
  const started = (): [CountingServer, CountingServer] => {
    if (servers === undefined) throw new Error('useAgentServers: the servers exist only inside tests');
    return servers;
  };
  return {
    get trusted() {
      return started()[0];
    },
    get untrusted() {
      return started()[1];
    },
    get env() {
      const [trusted, untrusted] = started();
      return { TRUSTED: trusted.url, UNTRUSTED: untrusted.url };
    },
  };
}

// ---- error shapes as the fixtures report them (lib.cjs shape()) ---------------------------------

export interface ErrorShape {
  name: string | null;
  ctor: string | null;
  typeError: boolean;
  message: string | null;
  code: string | number | null;
  reason?: string;
  operation?: string;
  agentId?: string;
  actionName?: string;
  url?: string;
  cause?: ErrorShape;
  value?: string;
}

export type Settled<T = unknown> = { ok: true; value: T } | { ok: false; error: ErrorShape };

/** The error and its causes, outermost first. */
export function errorChain(e: ErrorShape | undefined): ErrorShape[] {
  const out: ErrorShape[] = [];
  for (let c = e; c !== undefined; c = c.cause) out.push(c);
  return out;
}

/** The first error in the chain carrying `code`. */
export function findCode(e: ErrorShape | undefined, code: string): ErrorShape | undefined {
  return errorChain(e).find((c) => c.code === code);
}

/** Milliseconds since `start` (for the duration notes the suite prints). */
export function since(start: number): number {
  return Math.round(performance.now() - start);
}

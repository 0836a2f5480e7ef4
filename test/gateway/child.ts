/**
 * `provably gateway` (the BUILT CLI) in its own process, as an operator runs it, plus a small
 * REST client:
 *
 *   const gw = await startGateway(store.env());
 *   const r = await gw.call('POST', '/v1/execute', { key, body: { action: 'x', params: {} } });
 *   gw.kill();                   // SIGKILL (crash); await gw.stop() for SIGTERM → exit 0
 *
 * startGateway resolves once the gateway printed its URL (its "listening" line), and rejects
 * with its stderr if it exits first or prints nothing within 60 s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { CLI, ROOT } from '../helpers/cli.js';

/** A JSON answer as tests read it. */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON answers by path and assert on them.
export type Json = Record<string, any>;

export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export interface GatewayChild {
  url: string;
  proc: ChildProcess;
  stderr(): string;
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    o?: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<ApiAnswer<T>>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash; resolves when the process is gone. */
  kill(): Promise<void>;
}

export async function startGateway(env: NodeJS.ProcessEnv, args: string[] = []): Promise<GatewayChild> {
  const proc = spawn(process.execPath, [CLI, 'gateway', '--port', '0', ...args], { env, cwd: ROOT });
  let stdout = '';
  let stderr = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll);
      proc.kill('SIGKILL');
      reject(new Error(`provably gateway printed no URL within 60 s: ${stderr}`));
    }, 60_000);
    const poll = setInterval(() => {
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m || proc.exitCode !== null) {
        clearTimeout(timer);
        clearInterval(poll);
        if (m) resolve(m[1] as string);
        else reject(new Error(`provably gateway exited (${proc.exitCode}): ${stderr}`));
      }
    }, 20);
  });
  return {
    url,
    proc,
    stderr: () => stderr,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.key !== undefined) headers['x-provably-api-key'] = o.key;
      let body: string | undefined = o.raw;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(`${url}${path}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { text };
      }
      return { status: res.status, body: parsed as never };
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

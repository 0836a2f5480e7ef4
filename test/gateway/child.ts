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
import type { ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import type { E2EStore } from '../e2e/stores.js';
import { startService } from '../helpers/service-child.js';

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
  const service = await startService('gateway', env, args, 60_000);
  const { url, proc, exited } = service;
  return {
    url,
    proc,
    stderr: service.stderr,
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
    stop: service.stop,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * For tests that start gateways as they go: `start(store, env?)` starts one on the store, and
 * every gateway started in a test is killed (SIGKILL) after it.
 */
export function useGatewayChildren(): (
  store: E2EStore,
  extra?: Record<string, string>,
) => Promise<GatewayChild> {
  const running: GatewayChild[] = [];
  afterEach(async () => {
    for (const gw of running.splice(0)) await gw.kill();
  });
  return async (store, extra = {}) => {
    const gw = await startGateway(store.env(extra));
    running.push(gw);
    return gw;
  };
}

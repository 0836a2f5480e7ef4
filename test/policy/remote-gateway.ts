/**
 * The REAL gateway for the remote-mode tests: `node dist/cli.js gateway` in its own process on
 * a fresh store (an embedded data dir, or a PostgreSQL database), with a tenant, its policy and
 * agent / reviewer / admin keys made by the CLI the way an operator does it.
 *
 *   const gw = useRemoteGateway(backend, POLICY);     // top level of a describe block
 *   new ProvablyGateway({ gatewayUrl: gw().url, apiKey: gw().keys.agent, agentId: 'billing-agent' });
 *   await gw().call('POST', `/v1/escalations/${id}/approve`, { key: gw().keys.reviewer, body: { reason } });
 *   await gw().kill(); …; await gw().start();          // crash and restart on the same port
 *
 * On the embedded store the data dir belongs to one process: CLI commands run while the gateway
 * is stopped (`gw().cli([...])` refuses otherwise).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type E2EStore, useE2EStores } from '../e2e/stores.js';
import { CLI, type CliResult, ROOT, runCli } from '../helpers/cli.js';

export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export interface RemoteGateway {
  readonly url: string;
  readonly tenant: string;
  readonly store: E2EStore;
  /** agent (bound to billing-agent), spare (another agent key, to revoke), reviewer (alice), admin. */
  readonly keys: { agent: string; spare: string; sparePrefix: string; reviewer: string; admin: string };
  readonly running: boolean;
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    o?: { key?: string; body?: unknown },
  ): Promise<ApiAnswer<T>>;
  /** (Re)starts the gateway (on the same port after the first start). */
  start(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** SIGTERM: a clean stop. */
  stop(): Promise<void>;
  /** The CLI on the gateway's store (embedded: only while the gateway is stopped). */
  cli(args: string[]): Promise<CliResult>;
  stderr(): string;
}

export function useRemoteGateway(backend: 'pglite' | 'postgres', policy: string): () => RemoteGateway {
  const stores = useE2EStores(backend);
  let gw: GatewayProcess | undefined;
  beforeAll(async () => {
    const store = await stores.fresh();
    gw = new GatewayProcess(store);
    await gw.setUp(policy);
    await gw.start();
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });
  return () => {
    if (gw === undefined) throw new Error('useRemoteGateway: only inside tests');
    return gw;
  };
}

class GatewayProcess implements RemoteGateway {
  readonly store: E2EStore;
  readonly tenant: string;
  keys = { agent: '', spare: '', sparePrefix: '', reviewer: '', admin: '' };
  #port = 0;
  #url = '';
  #proc: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stderr = '';

  constructor(store: E2EStore) {
    this.store = store;
    this.tenant = store.orgId;
  }

  get url(): string {
    return this.#url;
  }

  get running(): boolean {
    return this.#proc !== undefined;
  }

  stderr(): string {
    return this.#stderr;
  }

  async setUp(policy: string): Promise<void> {
    await this.#cliOk(['tenants', 'create', this.tenant, '--id', this.tenant]);
    const key = async (role: string, extra: string[] = []) =>
      JSON.parse(
        (
          await this.#cliOk([
            'apikeys',
            'create',
            '--tenant',
            this.tenant,
            '--role',
            role,
            ...extra,
            '--json',
          ])
        ).stdout,
      );
    const spare = await key('agent', ['--agent', 'billing-agent', '--name', 'spare']);
    this.keys = {
      agent: (await key('agent', ['--agent', 'billing-agent', '--name', 'billing-agent-key'])).key,
      spare: spare.key,
      sparePrefix: spare.prefix,
      reviewer: (await key('reviewer', ['--name', 'alice'])).key,
      admin: (await key('admin', ['--name', 'ops'])).key,
    };
    const file = join(mkdtempSync(join(tmpdir(), 'provably-remote-policy-')), 'policy.cedar');
    writeFileSync(file, policy);
    await this.#cliOk(['policy', 'push', file, '--tenant', this.tenant]);
  }

  async start(): Promise<void> {
    if (this.#proc !== undefined) throw new Error('the gateway is already running');
    const proc = spawn(
      process.execPath,
      [CLI, 'gateway', '--port', String(this.#port), '--host', '127.0.0.1'],
      {
        env: this.store.env({ PROVABLY_LOG_LEVEL: 'warn' }),
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.#proc = proc;
    this.#exited = new Promise((resolve) =>
      proc.on('close', () => {
        if (this.#proc === proc) this.#proc = undefined;
        resolve();
      }),
    );
    let stdout = '';
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.#stderr += d;
    });
    this.#url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        clearInterval(poll);
        proc.kill('SIGKILL');
        reject(new Error(`provably gateway printed no URL within 60 s: ${this.#stderr}`));
      }, 60_000);
      const poll = setInterval(() => {
        const m = /listening on (http:\/\/\S+)/.exec(stdout);
        if (m || proc.exitCode !== null) {
          clearTimeout(timer);
          clearInterval(poll);
          if (m) resolve((m[1] as string).replace(/\/$/, ''));
          else reject(new Error(`provably gateway exited (${proc.exitCode}): ${this.#stderr}`));
        }
      }, 20);
    });
    this.#port = Number(new URL(this.#url).port);
  }

  async kill(): Promise<void> {
    const p = this.#proc;
    if (p === undefined) return;
    p.kill('SIGKILL');
    await this.#exited;
  }

  async stop(): Promise<void> {
    const p = this.#proc;
    if (p === undefined) return;
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }

  cli(args: string[]): Promise<CliResult> {
    if (this.store.backend === 'pglite' && this.#proc !== undefined) {
      throw new Error('stop the gateway first: its embedded data dir belongs to it');
    }
    return runCli(args, this.store.env());
  }

  async call<T>(
    method: string,
    path: string,
    o: { key?: string; body?: unknown } = {},
  ): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = {};
    if (o.key !== undefined) headers['x-provably-api-key'] = o.key;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.#url}${path}`, {
      method,
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = { text };
    }
    return { status: res.status, body: body as T };
  }

  async #cliOk(args: string[]): Promise<CliResult> {
    const r = await this.cli(args);
    if (r.code !== 0) throw new Error(`provably ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r;
  }
}

/**
 * Polls the gateway (reviewer key) until a pending escalation for `action` whose params include
 * `params` exists; its id.
 */
export async function pendingEscalation(
  gw: RemoteGateway,
  action: string,
  params: Record<string, unknown> = {},
  ms = 30_000,
): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await gw.call<{
      escalations?: { id: string; action: string; params: Record<string, unknown> }[];
    }>('GET', '/v1/escalations?status=pending&limit=100', { key: gw.keys.reviewer });
    const hit = r.body.escalations?.find(
      (e) => e.action === action && Object.entries(params).every(([k, v]) => e.params?.[k] === v),
    );
    if (hit) return hit.id;
    if (Date.now() > end) throw new Error(`no pending escalation for ${action}: ${JSON.stringify(r)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

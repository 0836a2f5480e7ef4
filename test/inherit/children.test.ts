/**
 * Child processes inherit governance: a Node child started inside a scope (fork, spawn of
 * process.execPath or of `node` on PATH, execFileSync) runs with the preload and the scope from
 * its environment; a non-Node executable (bash opening a raw TCP connection, shells through
 * exec / `shell: true`) is refused before it starts — 0 connections — through each API's own
 * error path, unless PROVABLY_CHILD_EXECUTABLES allows it. Outside a scope nothing changes.
 */
import { expect, it } from 'vitest';
import { runAgent, useAgentServers } from '../e2e/child.js';
import { describeE2E, useE2EStores } from '../e2e/stores.js';

interface ErrorLike {
  name: string | null;
  message: string | null;
  code: string | number | null;
  agentId?: string;
  actionName?: string;
  url?: string;
  cause?: ErrorLike;
}
interface Task {
  label: string;
  preloaded: boolean;
  env: {
    agent: string | null;
    action: string | null;
    traceparent: string | null;
    nodeOptions: string | null;
  };
  trusted: { ok: boolean; status?: number; error?: ErrorLike };
  untrusted: { ok: boolean; error?: ErrorLike };
}
interface Settled {
  code?: number | null;
  error?: ErrorLike;
  out?: string;
  task?: Task;
}
interface Sync {
  ok: boolean;
  value?: string | { error: ErrorLike | null; status: number | null };
  error?: ErrorLike;
}

const chain = (e: ErrorLike | undefined): ErrorLike[] => {
  const out: ErrorLike[] = [];
  for (let c = e; c !== undefined; c = c.cause) out.push(c);
  return out;
};
const blocked = (e: ErrorLike | undefined) => chain(e).find((c) => c.code === 'PROVABLY_BLOCKED');
const taskOfSync = (s: Sync): Task => {
  const line = String(s.value)
    .split('\n')
    .find((l) => l.startsWith('@task '));
  return JSON.parse((line as string).slice(6));
};

const servers = useAgentServers();

describeE2E('child processes inherit the scope', (backend) => {
  const stores = useE2EStores(backend);

  it('Node children run governed in the parent scope; non-Node executables are refused with 0 connections; unscoped children untouched', async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const untrustedConnections = servers.untrusted.connections;
    const untrustedLog = servers.untrusted.log.length;

    const run = await runAgent<{
      scoped: Record<string, unknown> & { traceId: string; spanId: string };
      unscoped: { bash: Settled; node: Settled };
    }>('inherit-child.mjs', { env: store.env(servers.env) });
    const s = run.result.scoped;
    expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);

    const nodeChildren: Array<[string, Task]> = [
      ['fork', (s.fork as Settled).task as Task],
      ['spawn-execpath', (s.spawnExecPath as Settled).task as Task],
      ['spawn-node', (s.spawnNode as Settled).task as Task],
      ['exec-file-sync', taskOfSync(s.execFileSync as Sync)],
    ];
    for (const [label, task] of nodeChildren) {
      expect(task, label).toMatchObject({
        label,
        preloaded: true,
        env: { agent: 'agent-c', action: 'act-c' },
      });
      expect(task.env.traceparent).toMatch(new RegExp(`^00-${s.traceId}-${s.spanId}-01$`));
      expect(task.env.nodeOptions).toContain('--import=file://');
      expect(task.trusted, label).toMatchObject({ ok: true, status: 200 });
      expect(blocked(task.untrusted.error), label).toMatchObject({ agentId: 'agent-c', actionName: 'act-c' });
    }

    // Non-Node executables: refused, ProvablyBlockedError through each API's error path.
    const refusedAsync = [s.exec, s.execFile] as Array<{ error?: ErrorLike; thrown?: ErrorLike }>;
    for (const r of refusedAsync) {
      expect(r.thrown).toBeUndefined();
      expect(r.error).toMatchObject({
        name: 'ProvablyBlockedError',
        code: 'PROVABLY_BLOCKED',
        agentId: 'agent-c',
      });
    }
    for (const r of [s.spawnBash, s.spawnShell] as Settled[]) {
      expect(r.error).toMatchObject({
        name: 'ProvablyBlockedError',
        code: 'PROVABLY_BLOCKED',
        agentId: 'agent-c',
      });
      expect(r.task).toBeUndefined();
    }
    expect((s.spawnShell as Settled).error?.url).toBe('/bin/sh');
    expect(s.spawnSync).toMatchObject({
      ok: true,
      value: { error: { name: 'ProvablyBlockedError' }, status: null },
    });
    for (const r of [s.execSync, s.execFileSyncBash] as Sync[]) {
      expect(r).toMatchObject({
        ok: false,
        error: { name: 'ProvablyBlockedError', code: 'PROVABLY_BLOCKED' },
      });
    }

    // Outside the scope: bash runs, and a Node child is not put in any scope.
    const u = run.result.unscoped;
    expect(u.bash).toMatchObject({ code: 0, out: 'unscoped\n' });
    expect(u.node.task).toMatchObject({
      label: 'unscoped-child',
      env: { agent: null, action: null, traceparent: null, nodeOptions: null },
      untrusted: { ok: true },
    });

    // Residual limit (README): a non-Node binary named `node` is taken for Node and runs.
    expect(s.renamedBash).toMatchObject({ code: 0, out: 'connected\n' });

    // The untrusted server saw the unscoped child's request and the renamed binary's raw
    // connection only: no refused executable ever connected.
    expect(servers.untrusted.log.slice(untrustedLog).map((l) => l.path)).toEqual([
      '/json?from=unscoped-child',
    ]);
    expect(servers.untrusted.connections - untrustedConnections).toBe(2);

    // One row per Node child's trusted call, in the parent's scope and trace, each its own span.
    const rows = await store.rows();
    expect(rows.map((row) => new URL(row.url).search).sort()).toEqual(
      nodeChildren.map(([label]) => `?from=${label}`).sort(),
    );
    for (const row of rows) {
      expect(row).toMatchObject({ agentId: 'agent-c', actionName: 'act-c', traceId: s.traceId });
      expect(row.spanId).not.toBe(s.spanId);
    }
  }, 120_000);

  it('PROVABLY_CHILD_EXECUTABLES allows bash; a Node program it starts is still governed', async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const untrustedLog = servers.untrusted.log.length;
    const untrustedConnections = servers.untrusted.connections;
    const run = await runAgent<{ scoped: { bash: Settled; bashConnect: Settled; viaBash: Settled } }>(
      'inherit-child.mjs',
      {
        env: store.env({ ...servers.env, MODE: 'allow', PROVABLY_CHILD_EXECUTABLES: 'git, bash' }),
      },
    );
    const s = run.result.scoped;
    expect(s.bash).toMatchObject({ code: 0, out: 'allowed\n' });
    // Residual limit (README): what an allowed executable does on the network is not governed —
    // its raw connection reached the untrusted server (plus the fixture's unscoped child's).
    expect(s.bashConnect).toMatchObject({ code: 0, out: 'connected\n' });
    expect(servers.untrusted.connections - untrustedConnections).toBe(2);
    expect(s.viaBash.task).toMatchObject({
      label: 'via-bash',
      preloaded: true,
      env: { agent: 'agent-c', action: 'act-c' },
      trusted: { ok: true },
      untrusted: { ok: false },
    });
    // Only the fixture's unscoped Node child (outside the scope) reached the untrusted server.
    expect(servers.untrusted.log.slice(untrustedLog).map((l) => l.path)).toEqual([
      '/json?from=unscoped-child',
    ]);
    expect((await store.rows()).map((row) => [row.agentId, row.actionName, new URL(row.url).search])).toEqual(
      [['agent-c', 'act-c', '?from=via-bash']],
    );
  }, 120_000);
});

describeE2E('code that captured child_process / Worker before the preload', (backend) => {
  const stores = useE2EStores(backend);

  it('residual limit: a captured Worker is not governed; captured spawn and spawnSync still are', async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const untrustedLog = servers.untrusted.log.length;
    const untrustedConnections = servers.untrusted.connections;
    const run = await runAgent<{
      asyncSpawn: Settled;
      sync: { status: number | null; error: ErrorLike | null };
      worker: { code: number; message: Task };
    }>('inherit-early.mjs', {
      preload: 'none',
      env: store.env({
        ...servers.env,
        NODE_OPTIONS: '--import ./test/fixtures/e2e/inherit-capture-early.mjs --import provably/register',
      }),
    });
    const r = run.result;
    expect(r.asyncSpawn.error).toMatchObject({ name: 'ProvablyBlockedError', agentId: 'agent-e' });
    expect(r.sync).toMatchObject({ status: null, error: { code: 'EACCES' } });
    expect(r.worker.message).toMatchObject({
      label: 'early-worker',
      preloaded: true,
      untrusted: { ok: true },
    });
    expect(servers.untrusted.log.slice(untrustedLog).map((l) => l.path)).toEqual(['/json?from=early-worker']);
    expect(servers.untrusted.connections - untrustedConnections).toBe(1);
  }, 120_000);
});

describeE2E('a Node child next to a parent that already uses the store', (backend) => {
  const stores = useE2EStores(backend);

  it('PostgreSQL: both record; embedded store: the child gets `locked` and its calls fail closed (residual limit)', async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const trustedLog = servers.trusted.log.length;
    const run = await runAgent<{ scoped: { parent: number; fork: Settled } }>('inherit-child.mjs', {
      env: store.env({ ...servers.env, MODE: 'parent-first' }),
    });
    const { parent, fork } = run.result.scoped;
    expect(parent).toBe(200);
    const task = fork.task as Task;
    expect(task).toMatchObject({ label: 'fork-after-parent', preloaded: true });
    const rows = (await store.rows()).map((row) => new URL(row.url).search);
    if (backend === 'postgres') {
      expect(task.trusted).toMatchObject({ ok: true, status: 200 });
      expect(rows.sort()).toEqual(['?from=fork-after-parent', '?from=parent']);
    } else {
      expect(task.trusted.ok).toBe(false);
      expect(chain(task.trusted.error).some((e) => e.code === 'PROVABLY_STORE_ERROR')).toBe(true);
      expect(JSON.stringify(task.trusted.error)).toContain('locked');
      // The refused call never reached the server (the fixture's unscoped child's call did).
      expect(servers.trusted.log.slice(trustedLog).map((l) => l.path)).toEqual([
        '/json?from=parent',
        '/json?from=unscoped-child',
      ]);
      expect(rows).toEqual(['?from=parent']);
    }
  }, 120_000);
});

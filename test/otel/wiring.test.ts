/**
 * OpenTelemetry wiring, both ways, in real child processes (the Node running the tests): the
 * fixtures under test/fixtures/otel run the TypeScript sources directly, with a preload standing
 * in for the register entry and a module hook recording every module loaded (import and require).
 */
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = resolve(root, 'test/fixtures/otel');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  // biome-ignore lint/suspicious/noExplicitAny: the fixture's JSON report, checked field by field.
  result: any;
}

function runFixture(app: string, env: Record<string, string> = {}): Promise<Run> {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('OTEL_') && !k.startsWith('PROVABLY_') && k !== 'NODE_OPTIONS') {
      childEnv[k] = v;
    }
  }
  Object.assign(childEnv, { PROVABLY_LOG_LEVEL: 'warn' }, env);
  const args = [
    '--import',
    resolve(fixtures, 'hooks.mjs'),
    '--import',
    resolve(fixtures, 'preload.ts'),
    resolve(fixtures, app),
  ];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (line === undefined) {
        fail(new Error(`${app} printed no RESULT (exit ${code})\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        return;
      }
      done({ code, stdout, stderr, result: JSON.parse(line.slice('RESULT '.length)) });
    });
  });
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

function expectScopeWithActiveIds(
  seen: { scope: unknown; active: { traceId: string; spanId: string } },
  scope: object,
) {
  expect(seen.active.traceId).toMatch(HEX32);
  expect(seen.active.spanId).toMatch(HEX16);
  expect(seen.scope).toEqual({ ...scope, ...seen.active });
}

const SEARCH = { agentId: 'agent-a', actionName: 'search', interceptIndex: 1 };
const APP_TOOL = { agentId: 'app-agent', actionName: 'app-tool', interceptIndex: null };

describe('importing src/scope', () => {
  it('loads no OpenTelemetry package (not even the API) and registers nothing', async () => {
    const { code, result } = await runFixture('app-import-only.ts');
    expect(code).toBe(0);
    expect(result).toEqual({ packages: [], wiring: 'pending', scope: null });
  });
});

describe('wiring (a): standalone, the application sets up no OpenTelemetry', () => {
  it('registers a context manager and a tracer provider on first need; real ids; no sdk-node', async () => {
    const { code, result, stderr } = await runFixture('app-standalone.ts');
    expect(code, stderr).toBe(0);
    // Before the first scope: only the API the app itself imported, nothing registered.
    expect(result.before).toEqual({
      packages: ['api'],
      registered: { context: false, trace: false },
      wiring: 'pending',
    });
    expect(result.after.wiring).toBe('standalone');
    expect(result.after.registered).toEqual({ context: true, trace: true });
    expect(result.after.packages).toEqual(expect.arrayContaining(['context-async-hooks', 'sdk-trace']));
    expect(result.after.packages).not.toContain('sdk-node');
    expectScopeWithActiveIds(result.scoped, SEARCH);
    // Spans the app makes through the global API now have readable attributes and tracked parents.
    expectScopeWithActiveIds(result.app, APP_TOOL);
    expect(result.outside).toBeNull();
    expect(result.duplicates).toEqual([]);
  });

  it('does not load sdk-node with OTEL_TRACES_EXPORTER=none', async () => {
    const { code, result, stderr } = await runFixture('app-standalone.ts', { OTEL_TRACES_EXPORTER: 'none' });
    expect(code, stderr).toBe(0);
    expect(result.after.wiring).toBe('standalone');
    expect(result.after.packages).not.toContain('sdk-node');
    expectScopeWithActiveIds(result.scoped, SEARCH);
  });

  it('OTEL_TRACES_EXPORTER=console: starts sdk-node (traces only), exports provably spans, scopes still resolve', async () => {
    const { code, result, stdout, stderr } = await runFixture('app-standalone.ts', {
      OTEL_TRACES_EXPORTER: 'console',
    });
    expect(code, stderr).toBe(0);
    expect(result.before.packages).toEqual(['api']);
    expect(result.after.wiring).toBe('standalone-export');
    expect(result.after.packages).toContain('sdk-node');
    expectScopeWithActiveIds(result.scoped, SEARCH);
    expectScopeWithActiveIds(result.app, APP_TOOL);
    expect(result.duplicates).toEqual([]);
    // The console exporter printed the interceptContext span, with its attributes and ids.
    expect(stdout).toContain("name: 'provably search'");
    expect(stdout).toContain(`id: '${result.scoped.active.spanId}'`);
    expect(stdout).toContain("'provably.agent_id': 'agent-a'");
  });

  it('GenAI mapping on: wired at preload, before the app’s first module (the SDK loads at the first span); tool spans are scopes', async () => {
    const { code, result, stderr } = await runFixture('app-standalone.ts', {
      PROVABLY_SCOPE_FROM_GENAI: '1',
    });
    expect(code, stderr).toBe(0);
    // At the app's first line everything a tracer needs is registered, yet nothing loaded but
    // the API the app imported itself: the context manager and the SDK load on first use.
    expect(result.before).toEqual({
      packages: ['api'],
      registered: { context: true, trace: true },
      wiring: 'standalone',
    });
    expect(result.genAi.firstCheck).toBeNull();
    expect(result.genAi.wiringAtCheck).toBe('standalone');
    expect(result.after.packages).toEqual(expect.arrayContaining(['context-async-hooks', 'sdk-trace']));
    expectScopeWithActiveIds(result.genAi, {
      agentId: 'researcher',
      actionName: 'web_search',
      interceptIndex: null,
    });
    expect(result.duplicates).toEqual([]);
    expect(stderr).not.toMatch(/NOT governed/);
  });
});

describe('wiring (b): the application owns its SDK (NodeSDK 0.301, in-memory exporter)', () => {
  it('detected: SDK started at the top of main after the preload; provably registers nothing', async () => {
    const { code, result, stderr } = await runFixture('app-owned.ts', {
      APP_SDK_START: 'top',
      APP_WITH_PROCESSOR: '1',
    });
    expect(code, stderr).toBe(0);
    expect(result.wiring).toBe('app');
    expect(result.duplicates).toEqual([]);
    expectScopeWithActiveIds(result.scoped, SEARCH);
    expectScopeWithActiveIds(result.app, APP_TOOL);
    // The interceptContext span went through the app's provider and exporter.
    const ours = result.exported.find((s: { name: string }) => s.name === 'provably search');
    expect(ours).toMatchObject({
      spanId: result.scoped.active.spanId,
      traceId: result.scoped.active.traceId,
      attributes: {
        'provably.agent_id': 'agent-a',
        'provably.action_name': 'search',
        'provably.intercept_index': 1,
      },
    });
  });

  it('detected without provablySpanProcessor: interceptContext works; inheritance from app spans needs the processor', async () => {
    const { code, result, stderr } = await runFixture('app-owned.ts', {
      APP_SDK_START: 'top',
      APP_WITH_PROCESSOR: '0',
    });
    expect(code, stderr).toBe(0);
    expect(result.wiring).toBe('app');
    expect(result.duplicates).toEqual([]);
    expectScopeWithActiveIds(result.scoped, SEARCH);
    expect(result.exported.map((s: { name: string }) => s.name)).toContain('provably search');
    // Documented limit: a grandchild of an app span carrying the scope is not seen as scoped.
    expect(result.app.scope).toBeNull();
  });

  it('PROVABLY_OTEL_SDK=off: nothing registered even before the app starts its SDK later; no duplicate', async () => {
    const { code, result, stderr } = await runFixture('app-owned.ts', {
      PROVABLY_OTEL_SDK: 'off',
      APP_SDK_START: 'late',
      APP_WITH_PROCESSOR: '1',
    });
    expect(code, stderr).toBe(0);
    expect(result.wiring).toBe('off');
    // Before the app registered a context manager nothing can carry a scope (and provably said so).
    expect(result.early.scope).toBeNull();
    expect(stderr).toContain('no OpenTelemetry context manager is registered');
    expect(result.duplicates).toEqual([]);
    expectScopeWithActiveIds(result.scoped, SEARCH);
    expectScopeWithActiveIds(result.app, APP_TOOL);
    expect(result.exported.map((s: { name: string }) => s.name)).toContain('provably search');
  });

  it('auto + an interceptContext before the app starts its SDK → the app’s SDK takes over: no duplicate, its exporter gets the spans', async () => {
    const { code, result, stderr } = await runFixture('app-owned.ts', {
      APP_SDK_START: 'late',
      APP_WITH_PROCESSOR: '1',
    });
    expect(code, stderr).toBe(0);
    expect(result.wiring).toBe('app');
    expectScopeWithActiveIds(result.early, SEARCH);
    expect(result.duplicates).toEqual([]);
    expectScopeWithActiveIds(result.scoped, SEARCH);
    expectScopeWithActiveIds(result.app, APP_TOOL);
    const names = result.exported.map((s: { name: string }) => s.name);
    expect(names).toContain('provably search');
    // Only the scope after the hand-over went through the app's provider.
    expect(result.exported.find((s: { name: string }) => s.name === 'provably search').spanId).toBe(
      result.scoped.active.spanId,
    );
    // Documented limit without GenAI mode: a tracer another api copy handed out before anything
    // was registered stays a no-op.
    expect(names).not.toContain('early tracer span');
  });

  it('GenAI mode + the app’s SDK started at the top of main: the app takes over; a CJS tracer taken before it exports to the app', async () => {
    const { code, result, stderr } = await runFixture('app-owned.ts', {
      PROVABLY_SCOPE_FROM_GENAI: '1',
      APP_SDK_START: 'top',
      APP_WITH_PROCESSOR: '1',
    });
    expect(code, stderr).toBe(0);
    expect(result.wiring).toBe('app');
    expect(result.duplicates).toEqual([]);
    expectScopeWithActiveIds(result.scoped, SEARCH);
    expectScopeWithActiveIds(result.app, APP_TOOL);
    const names = result.exported.map((s: { name: string }) => s.name);
    expect(names).toEqual(expect.arrayContaining(['provably search', 'early tracer span']));
    expect(stderr).not.toMatch(/NOT governed/);
  });

  it('control: without GenAI mode the same early CJS tracer stays a no-op (nothing registered before the app)', async () => {
    const { code, result, stderr } = await runFixture('app-owned.ts', {
      APP_SDK_START: 'top',
      APP_WITH_PROCESSOR: '1',
    });
    expect(code, stderr).toBe(0);
    expect(result.exported.map((s: { name: string }) => s.name)).not.toContain('early tracer span');
  });
});

/**
 * GenAI span mapping never fails open (issue #8, item 6), with the real preload: agents that take
 * a tracer at module top level from ANOTHER copy of @opentelemetry/api than the preload's — the
 * CommonJS build (every CJS app), the ES module build, and a 1.9.x copy (`otel-api-19`, as
 * @ai-sdk/otel pins) — then make the process's FIRST HTTP request inside a GenAI tool span:
 * to an untrusted server → BLOCKED with 0 connections and 0 bytes; to a trusted one → one row
 * carrying the span's agent, tool and ids. And the paths where provably cannot see such spans:
 * said at start (a warning, `provablyStatus().spanWarnings`), pinned exactly.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { type ErrorShape, findCode, ROOT, runAgent, type Settled, useAgentServers } from './child.js';
import { describeE2E, useE2EStores } from './stores.js';

interface ToolResult {
  call: Settled<{ status: number; body: string }>;
  recording: boolean;
  traceId: string;
  spanId: string;
  status: { blocked: number; recorded: number; otelWiring: string; spanWarnings: number };
}

/** Every api copy × a client for its first request (fetch loads undici lazily; http does not). */
const APPS: { name: string; fixture: string; env: Record<string, string> }[] = [
  {
    name: 'CommonJS app, require() of the api (CJS build), node:http',
    fixture: 'genai-tool.cjs',
    env: { CLIENT: 'http' },
  },
  {
    name: 'CommonJS app, require() of the api (CJS build), fetch',
    fixture: 'genai-tool.cjs',
    env: { CLIENT: 'fetch' },
  },
  {
    name: 'ES module app, import of the api (ESM build), fetch',
    fixture: 'genai-tool.mjs',
    env: { CLIENT: 'fetch' },
  },
  {
    name: 'second api copy at 1.9.1, import (ESM build), node:http',
    fixture: 'genai-tool-19.mjs',
    env: { CLIENT: 'http' },
  },
  {
    name: 'second api copy at 1.9.1, require() (CJS build), fetch',
    fixture: 'genai-tool.cjs',
    env: { CLIENT: 'fetch', OTEL_API: 'otel-api-19' },
  },
];

const GENAI = { PROVABLY_SCOPE_FROM_GENAI: '1' };
const servers = useAgentServers();

function blockedError(call: Settled): ErrorShape | undefined {
  return call.ok ? undefined : findCode(call.error, 'PROVABLY_BLOCKED');
}

describeE2E('GenAI tool spans from any @opentelemetry/api copy, first request of the process', (backend) => {
  const stores = useE2EStores(backend);

  for (const app of APPS) {
    it(`${app.name}: untrusted → BLOCKED, 0 connections, 0 bytes; trusted → recorded under the span`, async () => {
      const store = await stores.fresh();
      await store.trust(`${servers.trusted.url}/json`);

      const untrusted = servers.untrusted;
      const before = { connections: untrusted.connections, bytes: untrusted.bytesReceived };
      const refused = await runAgent<ToolResult>(app.fixture, {
        env: store.env({ ...GENAI, ...app.env, TARGET: untrusted.url }),
      });
      expect(refused.result.recording, 'the tool span is a real, recording span').toBe(true);
      const err = blockedError(refused.result.call);
      expect(err, JSON.stringify(refused.result.call)).toMatchObject({
        agentId: 'researcher',
        actionName: 'fetch_page',
        url: `${untrusted.url}/json?tool=fetch_page`,
      });
      await untrusted.settle();
      expect({ connections: untrusted.connections, bytes: untrusted.bytesReceived }).toEqual(before);
      expect(refused.result.status).toMatchObject({
        blocked: 1,
        recorded: 0,
        otelWiring: 'standalone',
        spanWarnings: 0,
      });
      expect(refused.stderr).not.toMatch(/NOT governed/);

      const allowed = await runAgent<ToolResult>(app.fixture, {
        env: store.env({ ...GENAI, ...app.env, TARGET: servers.trusted.url }),
      });
      const { call, traceId, spanId, status } = allowed.result;
      expect(call).toMatchObject({ ok: true, value: { status: 200 } });
      expect(status).toMatchObject({ blocked: 0, recorded: 1, spanWarnings: 0 });
      const rows = await store.rows();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        agentId: 'researcher',
        actionName: 'fetch_page',
        traceId,
        spanId,
        url: `${servers.trusted.url}/json?tool=fetch_page`,
        status: 200,
      });
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    });
  }

  it('control: without PROVABLY_SCOPE_FROM_GENAI the same tool span is no scope (the call goes out)', async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const before = servers.untrusted.requests;
    const run = await runAgent<ToolResult>('genai-tool.cjs', {
      env: store.env({ CLIENT: 'http', TARGET: servers.untrusted.url }),
    });
    expect(run.result.call).toMatchObject({ ok: true, value: { status: 200 } });
    expect(servers.untrusted.requests).toBe(before + 1);
    expect(run.result.status).toMatchObject({ otelWiring: 'pending', spanWarnings: 0 });
  });

  it('the CJS app registers its own SDK after the preload: it takes over (no duplicate, its exporter gets the tool span), the call is still BLOCKED', async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const untrusted = servers.untrusted;
    const before = { connections: untrusted.connections, bytes: untrusted.bytesReceived };
    const run = await runAgent<
      ToolResult & {
        registered: { context: boolean; trace: boolean };
        otelErrors: string[];
        exported: { name: string; spanId: string }[];
      }
    >('genai-app-sdk.cjs', { env: store.env({ ...GENAI, CLIENT: 'http', TARGET: untrusted.url }) });
    const r = run.result;
    expect(r.registered).toEqual({ context: true, trace: true });
    expect(r.otelErrors).toEqual([]);
    expect(blockedError(r.call)).toMatchObject({ agentId: 'researcher', actionName: 'fetch_page' });
    await untrusted.settle();
    expect({ connections: untrusted.connections, bytes: untrusted.bytesReceived }).toEqual(before);
    // The tracer taken before the app's SDK existed made its span through the app's provider.
    expect(r.exported).toEqual([{ name: 'execute_tool fetch_page', spanId: r.spanId }]);
    expect(r.status).toMatchObject({ otelWiring: 'app', blocked: 1, spanWarnings: 0 });
  });

  // ---- where provably cannot see the spans: said at start, never silently -------------------

  it('residual (README): PROVABLY_OTEL_SDK=off registers nothing → warned at start and counted; such a span is not seen', async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const before = servers.untrusted.requests;
    const run = await runAgent<ToolResult>('genai-tool.cjs', {
      env: store.env({ ...GENAI, PROVABLY_OTEL_SDK: 'off', CLIENT: 'http', TARGET: servers.untrusted.url }),
    });
    expect(run.stderr).toMatch(/PROVABLY_SCOPE_FROM_GENAI=1 with PROVABLY_OTEL_SDK=off: .* NOT governed/);
    expect(run.result.status).toMatchObject({ otelWiring: 'off', spanWarnings: 1, blocked: 0 });
    // Exactly what the warning says: the span is a no-op and the call went out.
    expect(run.result.recording).toBe(false);
    expect(run.result.call).toMatchObject({ ok: true, value: { status: 200 } });
    expect(servers.untrusted.requests).toBe(before + 1);
  });

  it('residual (README): another preload registered OpenTelemetry 1.9.1 first → the app’s 1.10 api refuses it: warned and counted', async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const before = servers.untrusted.requests;
    const preload = join(ROOT, 'test/fixtures/e2e/otel-19-preload.mjs');
    const run = await runAgent<ToolResult>('genai-tool.mjs', {
      env: store.env({
        ...GENAI,
        NODE_OPTIONS: `--import ${preload}`,
        CLIENT: 'fetch',
        TARGET: servers.untrusted.url,
      }),
    });
    expect(run.stderr).toMatch(/OpenTelemetry \(v1\.9\.1\) was registered before provably/);
    expect(run.stderr).toMatch(
      /the application's @opentelemetry\/api 1\.10\.\d+ \(.*\) refuses the OpenTelemetry globals registered at v1\.9\.1: .* NOT governed/,
    );
    expect(run.result.status).toMatchObject({ otelWiring: 'app', spanWarnings: 2, blocked: 0 });
    expect(run.result.recording).toBe(false);
    expect(run.result.call).toMatchObject({ ok: true, value: { status: 200 } });
    expect(servers.untrusted.requests).toBe(before + 1);
  });
});

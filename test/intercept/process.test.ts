/**
 * Checks that need a fresh Node process:
 * - production load order (`--import provably/register`: interception installed BEFORE the app
 *   loads undici 8 — which replaces the global dispatcher — or undici 7, and before the app's own
 *   setGlobalDispatcher);
 * - global fetch over TLS (the test CA must be given to Node at startup: NODE_EXTRA_CA_CERTS);
 * - a throwing recorder / gate / scope resolver / body hook never crashes the host.
 * The child runs the real src/intercept (bundled on the fly with esbuild; packages stay external
 * and resolve from this repo's node_modules) and prints one JSON line of results.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CountingServer, startCountingServer } from '../helpers/counting-server.js';

const repo = resolve(import.meta.dirname, '../..');
// Inside node_modules so the child's bare imports (undici, axios…) resolve from this repo.
const dir = join(repo, 'node_modules', '.cache', `provably-intercept-test-${process.pid}`);
let scriptCount = 0;

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  result: Record<string, unknown>;
}

async function runChild(source: string, env: Record<string, string> = {}): Promise<ChildResult> {
  const file = join(dir, `child-${++scriptCount}.mjs`);
  writeFileSync(file, source);
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, PROVABLY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const last = stdout.trim().split('\n').at(-1) ?? '';
  let result: Record<string, unknown> = {};
  try {
    result = JSON.parse(last) as Record<string, unknown>;
  } catch {
    // reported through the assertions below with stdout/stderr
  }
  return { code, stdout, stderr, result };
}

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'entry.ts'),
    [
      `export * from ${JSON.stringify(join(repo, 'src/intercept/index.ts'))};`,
      `export * from ${JSON.stringify(join(repo, 'test/intercept/kit.ts'))};`,
      `export { configureDiag } from ${JSON.stringify(join(repo, 'src/diag/index.ts'))};`,
    ].join('\n'),
  );
  await build({
    entryPoints: [join(dir, 'entry.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    packages: 'external',
    outfile: join(dir, 'provably.mjs'),
    logLevel: 'silent',
  });
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PRELUDE = `
import { installInterception, SetGate, MemoryRecorder, inScope, resolveScope, ORG } from './provably.mjs';
const { TRUSTED, UNTRUSTED } = process.env;
const code = (p) => p.then(() => 'sent', (e) => e?.cause?.code ?? e?.code ?? String(e));
process.on('uncaughtException', (e) => { console.log(JSON.stringify({ uncaught: String(e?.stack ?? e) })); process.exit(3); });
process.on('unhandledRejection', (e) => { console.log(JSON.stringify({ unhandled: String(e?.stack ?? e) })); process.exit(4); });
`;

describe('production load order: installed before the app loads undici', () => {
  let trusted: CountingServer;
  let untrusted: CountingServer;
  beforeAll(async () => {
    trusted = await startCountingServer();
    untrusted = await startCountingServer();
  });
  afterAll(async () => {
    await Promise.all([trusted.close(), untrusted.close()]);
  });

  it('undici 8 / 7 loaded later, global dispatcher replaced twice: every scoped call governed before the network', async () => {
    const { code, stdout, stderr, result } = await runChild(
      `${PRELUDE}
const gate = new SetGate().trust(TRUSTED);
gate.pendingAnswers = 1; // the very first scoped call meets a trusted set still loading
const recorder = new MemoryRecorder();
const handle = installInterception({ gate, recorder, resolveScope, orgId: () => ORG });
const undici = await import('undici'); // replaces the global dispatcher (Node 22) on load
const r = {};
const first = await inScope(() => fetch(TRUSTED + '/json'));
r.first = [first.status, (await first.json()).hello];
r.fetch = await code(inScope(() => fetch(UNTRUSTED + '/json')));
r.request = await code(inScope(() => undici.request(UNTRUSTED + '/json')));
r.undiciFetch = await code(inScope(() => undici.fetch(UNTRUSTED + '/json')));
r.client8 = await code(inScope(() => new undici.Client(UNTRUSTED).request({ path: '/json', method: 'GET' })));
undici.setGlobalDispatcher(new undici.Agent()); // the app's own global dispatcher
r.fetchAfterSet = await code(inScope(() => fetch(UNTRUSTED + '/json')));
r.requestAfterSet = await code(inScope(() => undici.request(UNTRUSTED + '/json', { method: 'PUT', body: 'x' })));
const undici7 = await import('undici7');
r.client7 = await code(inScope(() => new undici7.Client(UNTRUSTED).request({ path: '/json', method: 'GET' })));
r.pool7 = await code(inScope(() => new undici7.Pool(UNTRUSTED).request({ path: '/json', method: 'GET' })));
undici7.setGlobalDispatcher(new undici7.Agent());
r.fetchAfterSet7 = await code(inScope(() => fetch(UNTRUSTED + '/json')));
const ok = await inScope(() => undici.request(TRUSTED + '/json'));
await ok.body.text();
await recorder.waitFor(2);
r.recorded = recorder.calls.map((c) => [c.status, c.request.url]);
r.stats = handle.stats();
console.log(JSON.stringify(r));
process.exit(0);
`,
      { TRUSTED: trusted.url, UNTRUSTED: untrusted.url },
    );
    expect({ code, stderr: stderr.includes('Error') ? stderr : '' }).toEqual({ code: 0, stderr: '' });
    expect(result, stdout).toMatchObject({
      first: [200, 'world'],
      fetch: 'PROVABLY_BLOCKED',
      request: 'PROVABLY_BLOCKED',
      undiciFetch: 'PROVABLY_BLOCKED',
      client8: 'PROVABLY_BLOCKED',
      fetchAfterSet: 'PROVABLY_BLOCKED',
      requestAfterSet: 'PROVABLY_BLOCKED',
      client7: 'PROVABLY_BLOCKED',
      pool7: 'PROVABLY_BLOCKED',
      fetchAfterSet7: 'PROVABLY_BLOCKED',
      recorded: [
        [200, `${trusted.url}/json`],
        [200, `${trusted.url}/json`],
      ],
    });
    // Every copy was patched when it loaded: nothing needed the request:create fallback.
    expect((result.stats as { fallback: number; blocked: number }).fallback).toBe(0);
    expect((result.stats as { blocked: number }).blocked).toBe(9);
    await untrusted.settle();
    expect(untrusted.connections).toBe(0);
    expect(untrusted.bytesReceived).toBe(0);
  });
});

describe('global fetch over TLS', () => {
  let trusted: CountingServer;
  let untrusted: CountingServer;
  beforeAll(async () => {
    trusted = await startCountingServer({ tls: true });
    untrusted = await startCountingServer({ tls: true });
  });
  afterAll(async () => {
    await Promise.all([trusted.close(), untrusted.close()]);
  });

  it('refuses an untrusted https URL with 0 connections and captures a trusted one', async () => {
    writeFileSync(join(dir, 'ca.pem'), trusted.ca ?? '');
    const { code, stdout, result } = await runChild(
      `${PRELUDE}
const gate = new SetGate().trust(TRUSTED);
const recorder = new MemoryRecorder();
installInterception({ gate, recorder, resolveScope, orgId: () => ORG });
const r = {};
r.blocked = await code(inScope(() => fetch(UNTRUSTED + '/json')));
const res = await inScope(() => fetch(TRUSTED + '/gzip'));
r.body = await res.json();
await recorder.waitFor(1);
r.recorded = recorder.calls.map((c) => [c.status, c.request.url, c.body.length]);
console.log(JSON.stringify(r));
process.exit(0);
`,
      { TRUSTED: trusted.url, UNTRUSTED: untrusted.url, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') },
    );
    expect(code, stdout).toBe(0);
    expect(result).toMatchObject({
      blocked: 'PROVABLY_BLOCKED',
      body: { hello: 'world' },
      recorded: [[200, `${trusted.url}/gzip`, expect.any(Number)]],
    });
    await untrusted.settle();
    expect(untrusted.connections).toBe(0);
    expect(untrusted.bytesReceived).toBe(0);
  });
});

describe('never hurts the host', () => {
  let server: CountingServer;
  beforeAll(async () => {
    server = await startCountingServer();
  });
  afterAll(() => server.close());

  it('throwing recorder, gate, scope resolver and body hook: no crash, calls complete or fail cleanly', async () => {
    const { code, stdout, stderr, result } = await runChild(
      `${PRELUDE}
import http from 'node:http';
import { setInterceptBodyHook, makeScope } from './provably.mjs';
const { SERVER } = process.env;
const undici = await import('undici');
const axios = (await import('axios')).default;
const boom = (what) => { throw new Error(what + ' boom'); };
let mode = 'throwy';
const recorder = {
  start(scope, request) {
    if (mode === 'start') boom('start');
    return {
      response: () => boom('response'),
      chunk: () => boom('chunk'),
      finish: () => (mode === 'finish-sync' ? boom('finish') : Promise.resolve()),
      fail: () => boom('fail'),
    };
  },
};
let gateMode = 'ok';
const gate = {
  check(url) {
    if (gateMode === 'throw-string') throw 'not an error';
    if (gateMode === 'reject') return Promise.reject(new Error('gate down'));
    return url;
  },
};
let scopeMode = 'ok';
const scoped = () => (scopeMode === 'throw' ? boom('resolveScope') : resolveScope());
const handle = installInterception({ gate, recorder, resolveScope: scoped, orgId: () => ORG });
const get = (url) => new Promise((ok, ko) => http.get(url, (res) => { let s = ''; res.on('data', (d) => (s += d)); res.on('end', () => ok(s)); res.on('error', ko); }).on('error', ko));
const clients = {
  fetch: async (u) => (await fetch(u)).text(),
  http: get,
  undici: async (u) => (await undici.request(u)).body.text(),
  axios: async (u) => (await axios.get(u, { responseType: 'text' })).data,
};
const outcome = (p) => p.then((b) => 'ok:' + String(b).length, (e) => 'err:' + (e?.cause?.message ?? e?.code ?? e?.message));
const r = {};
for (const [name, get] of Object.entries(clients)) {
  mode = 'throwy'; r[name + ':throwy'] = await outcome(inScope(() => get(SERVER + '/json')));
  r[name + ':partial'] = await outcome(inScope(() => get(SERVER + '/partial?bytes=10&of=100')));
  mode = 'start'; r[name + ':start'] = await outcome(inScope(() => get(SERVER + '/json')));
  mode = 'finish-sync'; r[name + ':finish'] = await outcome(inScope(() => get(SERVER + '/json')));
  mode = 'throwy';
  gateMode = 'throw-string'; r[name + ':gateThrows'] = await outcome(inScope(() => get(SERVER + '/json')));
  gateMode = 'reject'; r[name + ':gateRejects'] = await outcome(inScope(() => get(SERVER + '/json')));
  gateMode = 'ok';
  scopeMode = 'throw'; r[name + ':scopeThrows'] = await outcome(inScope(() => get(SERVER + '/json')));
  scopeMode = 'ok';
  setInterceptBodyHook(() => boom('hook'));
  r[name + ':hook'] = await outcome(inScope(() => get(SERVER + '/json'), makeScope({ interceptIndex: 3 })));
  setInterceptBodyHook(undefined);
}
await new Promise((done) => setTimeout(done, 50)); // let any stray rejection surface
r.stats = handle.stats();
console.log(JSON.stringify(r));
process.exit(0);
`,
      { SERVER: server.url },
    );
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(result.uncaught).toBeUndefined();
    expect(result.unhandled).toBeUndefined();
    const body = `ok:${JSON.stringify({ hello: 'world', list: [1, 2, 3] }).length}`;
    for (const name of ['fetch', 'http', 'undici', 'axios']) {
      expect(result[`${name}:throwy`], name).toBe(body); // recorder methods throwing: call unaffected
      expect(result[`${name}:start`], name).toBe(body); // recorder.start throwing: goes out unrecorded
      expect(result[`${name}:scopeThrows`], name).toBe(body); // treated as unscoped
      expect(result[`${name}:hook`], name).toBe(body); // original body
      expect(String(result[`${name}:partial`]), name).toMatch(/^err:/); // the transport's own error
      expect(result[`${name}:finish`], name).toBe('err:finish boom'); // commit failed: the read fails with it
      expect(String(result[`${name}:gateThrows`]), name).toMatch(/^err:(PROVABLY_BLOCKED|BLOCKED: )/); // fail closed
      expect(result[`${name}:gateRejects`], name).toBe('err:gate down'); // fail closed with the gate's error
    }
    expect((result.stats as { internalErrors: number }).internalErrors).toBeGreaterThan(0);
    expect(stderr).toContain('provably error: interception:');
  });
});

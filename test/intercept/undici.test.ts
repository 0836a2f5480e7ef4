/**
 * The undici package, 7.x (`undici7`) and 8.x (`undici`): request/fetch through the global
 * dispatcher (set by the app after install, as `setGlobalDispatcher` does in real code), explicit
 * Client/Pool/Agent, and the request:create fallback for a dispatcher bound before install.
 */
import * as undici8 from 'undici';
import * as undici7 from 'undici7';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { ProvablyBlockedError } from '../../src/errors/index.js';
import { installInterception, setInterceptBodyHook } from '../../src/intercept/index.js';
import type { InterceptionHandle } from '../../src/intercept/types.js';
import {
  bigBody,
  type CountingServer,
  GZIP_BYTES,
  JSON_BODY,
  startCountingServer,
} from '../helpers/counting-server.js';
import { header, inScope, MemoryRecorder, makeScope, ORG, resolveScope, SetGate, storeError } from './kit.js';

interface ResponseData {
  statusCode: number;
  headers: Record<string, unknown>;
  body: { arrayBuffer(): Promise<ArrayBuffer>; text(): Promise<string> } & AsyncIterable<Buffer>;
}
interface Dispatcher {
  request(opts: { path: string; method: string; origin?: string }): Promise<ResponseData>;
  close(): Promise<void>;
  compose(...interceptors: unknown[]): Dispatcher;
}
interface Undici {
  request(
    url: string,
    opts?: { method?: string; dispatcher?: unknown; signal?: AbortSignal },
  ): Promise<ResponseData>;
  fetch(url: string, init?: { method?: string; dispatcher?: unknown }): Promise<Response>;
  Client: new (url: string) => Dispatcher;
  Pool: new (url: string, opts?: object) => Dispatcher;
  Agent: new () => Dispatcher;
  setGlobalDispatcher(dispatcher: unknown): void;
}

const versions: Array<[string, Undici]> = [
  ['undici 7', undici7 as unknown as Undici],
  ['undici 8', undici8 as unknown as Undici],
];

let trusted: CountingServer;
let outside: CountingServer;
const untrusted = new Map<string, CountingServer>();
const gate = new SetGate();
const recorder = new MemoryRecorder();
let handle: InterceptionHandle;
const boundBeforeInstall = new Map<string, { blocked: Dispatcher; allowed: Dispatcher }>();
let fallbackServer: Record<string, CountingServer> = {};

function blockedIn(err: unknown): ProvablyBlockedError | undefined {
  for (let e: unknown = err, i = 0; e && i < 5; i++) {
    if (e instanceof ProvablyBlockedError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  return run().then(
    () => undefined,
    (e: unknown) => e,
  );
}

beforeAll(async () => {
  trusted = await startCountingServer();
  outside = await startCountingServer();
  for (const [name] of versions) untrusted.set(name, await startCountingServer());
  fallbackServer = { 'undici 7': await startCountingServer(), 'undici 8': await startCountingServer() };
  // `compose` binds the dispatcher's dispatch method as it is now: these never meet our patch,
  // only the request:create fallback.
  for (const [name, u] of versions) {
    const server = fallbackServer[name] as CountingServer;
    boundBeforeInstall.set(name, {
      blocked: new u.Client(server.url).compose((dispatch: unknown) => dispatch),
      allowed: new u.Client(trusted.url).compose((dispatch: unknown) => dispatch),
    });
  }
  gate.trust(trusted.url);
  configureDiag({ level: 'silent' });
  handle = installInterception({ gate, recorder, resolveScope, orgId: () => ORG });
});

afterAll(async () => {
  handle.uninstall();
  const quietly = (d: Dispatcher) => d.close().catch(() => {}); // some were closed by their test
  for (const pair of boundBeforeInstall.values())
    await Promise.all([quietly(pair.blocked), quietly(pair.allowed)]);
  await Promise.all(
    [trusted, outside, ...untrusted.values(), ...Object.values(fallbackServer)].map((s) => s.close()),
  );
});

beforeEach(() => {
  recorder.reset();
  gate.pendingAnswers = 0;
  gate.failWith = undefined;
});

describe.each(versions)('%s', (name, u) => {
  let bad: CountingServer;
  let globalAgent: Dispatcher;

  beforeAll(() => {
    bad = untrusted.get(name) as CountingServer;
    // The app replaces the global dispatcher after provably is installed.
    globalAgent = new u.Agent();
    u.setGlobalDispatcher(globalAgent);
  });
  afterAll(() => globalAgent.close());

  const explicit: Array<[string, (url: string) => Dispatcher]> = [
    ['Client', (url) => new u.Client(url)],
    ['Pool', (url) => new u.Pool(url)],
    ['Agent', () => new u.Agent()],
  ];

  it('request() via the global dispatcher: refused with 0 connections, the error itself', async () => {
    const err = await failure(() => inScope(() => u.request(`${bad.url}/json`)));
    expect(err).toBeInstanceOf(ProvablyBlockedError);
    expect((err as ProvablyBlockedError).url).toBe(`${bad.url}/json`);
    expect(bad.connections).toBe(0);
    expect(bad.bytesReceived).toBe(0);
    expect(recorder.started).toHaveLength(0);
  });

  it('fetch() via the global dispatcher: TypeError fetch failed with the refusal as cause', async () => {
    const err = await failure(() => inScope(() => u.fetch(`${bad.url}/json`, { method: 'POST' })));
    expect(err).toBeInstanceOf(TypeError);
    expect((err as TypeError).message).toBe('fetch failed');
    expect((err as TypeError).cause).toBeInstanceOf(ProvablyBlockedError);
    expect(bad.connections).toBe(0);
  });

  it("Node's global fetch after the app's setGlobalDispatcher: still refused with 0 connections", async () => {
    const err = await failure(() => inScope(() => fetch(`${bad.url}/json`)));
    expect(blockedIn(err)).toBeInstanceOf(ProvablyBlockedError);
    expect(bad.connections).toBe(0);
    const res = await inScope(() => fetch(`${trusted.url}/json`));
    expect(await res.json()).toEqual(JSON_BODY);
    await recorder.waitFor(1);
    expect(recorder.calls[0]?.request.url).toBe(`${trusted.url}/json`);
  });

  it('request() and fetch() capture method, url, status, headers and exact bytes', async () => {
    const res = await inScope(() => u.request(`${trusted.url}/json?x=1`, { method: 'GET' }));
    expect(res.statusCode).toBe(200);
    expect(Buffer.from(await res.body.arrayBuffer()).toString()).toBe(JSON.stringify(JSON_BODY));
    const viaFetch = await inScope(() => u.fetch(`${trusted.url}/gzip`, { method: 'GET' }));
    expect(await viaFetch.json()).toEqual(JSON_BODY); // decoded for the caller
    await recorder.waitFor(2);
    const [plain, gz] = recorder.calls;
    expect(plain?.request).toMatchObject({ method: 'GET', url: `${trusted.url}/json?x=1` });
    expect(plain?.status).toBe(200);
    expect(header(plain?.headers, 'x-test')).toBe('yes');
    expect(header(plain?.headers, 'set-cookie')).toEqual(['a=1', 'b=2']);
    expect(plain?.body.toString()).toBe(JSON.stringify(JSON_BODY));
    expect(gz?.body.equals(GZIP_BYTES)).toBe(true); // wire bytes, still gzip
    expect(header(gz?.headers, 'content-encoding')).toBe('gzip');
  });

  for (const [kind, make] of explicit) {
    it(`explicit ${kind}: refused with 0 connections, trusted call captured byte-exact`, async () => {
      const blockedDispatcher = make(bad.url);
      const okDispatcher = make(trusted.url);
      try {
        const err = await failure(() =>
          inScope(() => blockedDispatcher.request({ origin: bad.url, path: '/json', method: 'DELETE' })),
        );
        expect(err).toBeInstanceOf(ProvablyBlockedError);
        expect(bad.connections).toBe(0);
        expect(bad.bytesReceived).toBe(0);
        const res = await inScope(() =>
          okDispatcher.request({ origin: trusted.url, path: '/big?bytes=300000', method: 'GET' }),
        );
        const body = Buffer.from(await res.body.arrayBuffer());
        expect(body.equals(bigBody(300000))).toBe(true);
        await recorder.waitFor(1);
        expect(recorder.calls[0]?.request).toMatchObject({
          method: 'GET',
          url: `${trusted.url}/big?bytes=300000`,
        });
        expect(recorder.calls[0]?.body.equals(bigBody(300000))).toBe(true);
      } finally {
        await Promise.all([blockedDispatcher.close(), okDispatcher.close()]);
      }
    });
  }

  it('a Client ignores opts.origin: the URL checked is the one it connects to', async () => {
    const client = new u.Client(bad.url);
    try {
      const err = await failure(() =>
        inScope(() => client.request({ origin: trusted.url, path: '/json', method: 'GET' })),
      );
      expect(err).toBeInstanceOf(ProvablyBlockedError);
      expect((err as ProvablyBlockedError).url).toBe(`${bad.url}/json`);
      expect(bad.connections).toBe(0);
    } finally {
      await client.close();
    }
  });

  it('request(url, { dispatcher }) with an explicit Agent is governed the same way', async () => {
    const agent = new u.Agent();
    try {
      const err = await failure(() => inScope(() => u.request(`${bad.url}/json`, { dispatcher: agent })));
      expect(err).toBeInstanceOf(ProvablyBlockedError);
      expect(bad.connections).toBe(0);
    } finally {
      await agent.close();
    }
  });

  it('a gate still loading: the explicit Client waits for the answer', async () => {
    const client = new u.Client(trusted.url);
    const badClient = new u.Client(bad.url);
    try {
      gate.pendingAnswers = 2;
      const res = await inScope(() => client.request({ path: '/json', method: 'GET' }));
      expect(res.statusCode).toBe(200);
      await res.body.arrayBuffer();
      const err = await failure(() => inScope(() => badClient.request({ path: '/json', method: 'GET' })));
      expect(err).toBeInstanceOf(ProvablyBlockedError);
      expect(bad.connections).toBe(0);
      await recorder.waitFor(1);
      expect(recorder.calls[0]?.status).toBe(200);
    } finally {
      await Promise.all([client.close(), badClient.close()]);
    }
  });

  it('unscoped calls pass through: untrusted server reached, nothing asked or recorded', async () => {
    const asked = gate.asked.length;
    const client = new u.Client(outside.url);
    try {
      const res = await u.request(`${outside.url}/json`);
      await res.body.arrayBuffer();
      const res2 = await client.request({ path: '/json', method: 'GET' });
      await res2.body.arrayBuffer();
      const res3 = await u.fetch(`${outside.url}/json`);
      await res3.arrayBuffer();
    } finally {
      await client.close();
    }
    expect(gate.asked.length).toBe(asked);
    expect(recorder.started).toHaveLength(0);
  });

  it('request(): end of body held until the row is committed', async () => {
    const { finishing, commit } = recorder.holdCommit();
    let resolved = false;
    const text = inScope(() => u.request(`${trusted.url}/json`)).then(async (res) => {
      const t = await res.body.text();
      resolved = true;
      return t;
    });
    await finishing;
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(resolved).toBe(false);
    commit();
    expect(JSON.parse(await text)).toEqual(JSON_BODY);
    expect(recorder.started[0]?.committed).toBe(true);
  });

  it('request(): SSE events reach the caller live', { timeout: 10_000 }, async () => {
    trusted.events.length = 0;
    const res = await inScope(() => u.request(`${trusted.url}/sse?events=2`));
    for await (const chunk of res.body) {
      const n = /data: (\d)/.exec(chunk.toString())?.[1];
      trusted.events.push(`caller:${n}`);
      if (n === '1') trusted.sseTick();
    }
    expect(trusted.events).toEqual(['sse:sent:1', 'caller:1', 'sse:sent:2', 'sse:end', 'caller:2']);
    await recorder.waitFor(1);
    expect(recorder.calls[0]?.body.toString()).toBe('data: 1\n\ndata: 2\n\n');
  });

  it('request(): abort mid-body is recorded with the partial body; caller sees its abort', async () => {
    const controller = new AbortController();
    const err = await failure(() =>
      inScope(async () => {
        const res = await u.request(`${trusted.url}/hang`, { signal: controller.signal });
        for await (const chunk of res.body) if (chunk.toString().includes('first')) controller.abort();
      }),
    );
    expect(String((err as Error).name)).toMatch(/Abort/);
    await recorder.waitFor(1);
    expect(recorder.calls[0]?.error).toBeDefined();
    expect(recorder.calls[0]?.body.toString()).toBe('first');
  });

  it('request(): a failing commit fails the read with the store error', async () => {
    const stored = storeError();
    recorder.finishError = stored;
    const err = await failure(() =>
      inScope(async () => (await u.request(`${trusted.url}/json`)).body.text()),
    );
    expect(err).toBe(stored);
  });

  it('request(): body hook replaces what the caller reads, not what is recorded', async () => {
    setInterceptBodyHook((index) => `hooked ${index}`);
    try {
      const res = await inScope(() => u.request(`${trusted.url}/json`), makeScope({ interceptIndex: 9 }));
      expect(await res.body.text()).toBe('hooked 9');
      await recorder.waitFor(1);
      expect(recorder.calls[0]?.body.toString()).toBe(JSON.stringify(JSON_BODY));
    } finally {
      setInterceptBodyHook(undefined);
    }
  });

  it('fallback: a dispatcher bound before install is still refused (request:create) — no HTTP bytes', async () => {
    const { blocked, allowed } = boundBeforeInstall.get(name) as { blocked: Dispatcher; allowed: Dispatcher };
    const server = fallbackServer[name] as CountingServer;
    const before = handle.stats().fallback;
    const err = await failure(() => inScope(() => blocked.request({ path: '/json', method: 'GET' })));
    expect(err).toBeInstanceOf(ProvablyBlockedError);
    expect(handle.stats().fallback).toBe(before + 1);
    await blocked.close();
    await server.settle();
    expect(server.requests).toBe(0);
    expect(server.bytesReceived).toBe(0);
    // undici 8 refuses before connecting; for undici 7 the connection guard refuses the connect.
    expect(server.connections).toBe(0);
    // A trusted call on such a dispatcher is captured through the fallback too.
    const res = await inScope(() => allowed.request({ path: '/json', method: 'GET' }));
    expect(Buffer.from(await res.body.arrayBuffer()).toString()).toBe(JSON.stringify(JSON_BODY));
    await recorder.waitFor(1);
    expect(recorder.calls[0]?.body.toString()).toBe(JSON.stringify(JSON_BODY));
  });
});

it("Node's global fetch with an explicit undici 7 Agent as dispatcher is governed", async () => {
  const agent = new undici7.Agent();
  const bad = untrusted.get('undici 7') as CountingServer;
  try {
    const err = await failure(() =>
      inScope(() => fetch(`${bad.url}/json`, { dispatcher: agent } as unknown as RequestInit)),
    );
    expect(blockedIn(err)).toBeInstanceOf(ProvablyBlockedError);
    expect(bad.connections).toBe(0);
    const res = await inScope(() =>
      fetch(`${trusted.url}/json`, { dispatcher: agent } as unknown as RequestInit),
    );
    expect(await res.json()).toEqual(JSON_BODY);
    await recorder.waitFor(1);
    expect(recorder.calls[0]?.status).toBe(200);
  } finally {
    await agent.close();
  }
});

/**
 * Capture semantics that depend on timing, made deterministic by ordering instead of clocks:
 * end-of-body is released only after the row is committed; SSE chunks reach the caller live;
 * aborted and broken calls are recorded with their partial body; a failing commit fails the
 * caller's read; the body hook changes only what the caller sees. Global fetch (bundled undici;
 * no undici package is imported here) and the node:http family.
 */
import http from 'node:http';
import type { Readable } from 'node:stream';
import axios from 'axios';
import got from 'got';
import nodeFetch from 'node-fetch';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { installInterception, setInterceptBodyHook } from '../../src/intercept/index.js';
import type { InterceptionHandle } from '../../src/intercept/types.js';
import { type CountingServer, JSON_BODY, startCountingServer } from '../helpers/counting-server.js';
import { inScope, MemoryRecorder, makeScope, ORG, resolveScope, SetGate, storeError } from './kit.js';

/** One way of reading a response body, per client. */
interface Reader {
  /** Reads the whole body as text. */
  text(url: string): Promise<string>;
  /** Streams the body, calling onChunk for each chunk as the caller receives it. */
  stream(url: string, onChunk: (text: string) => void, signal?: AbortSignal): Promise<void>;
}

function nodeStream(body: Readable, onChunk: (text: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    body.on('data', (c: Buffer) => onChunk(c.toString()));
    body.on('end', resolve);
    body.on('error', reject);
  });
}

const readers: Record<string, Reader> = {
  fetch: {
    text: async (url) => (await fetch(url)).text(),
    stream: async (url, onChunk, signal) => {
      const res = await fetch(url, signal ? { signal } : {});
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        onChunk(Buffer.from(value).toString());
      }
    },
  },
  http: {
    text: (url) =>
      new Promise((resolve, reject) => {
        http
          .get(url, (res) => {
            let s = '';
            res.on('data', (c: Buffer) => {
              s += c;
            });
            res.on('end', () => resolve(s));
            res.on('error', reject);
          })
          .on('error', reject);
      }),
    stream: (url, onChunk, signal) =>
      new Promise((resolve, reject) => {
        const req = http.get(url, signal ? { signal } : {}, (res) => {
          nodeStream(res, onChunk).then(resolve, reject);
        });
        req.on('error', reject);
      }),
  },
  axios: {
    text: async (url) => (await axios.get(url, { responseType: 'text' })).data as string,
    stream: async (url, onChunk, signal) => {
      const res = await axios.get(url, { responseType: 'stream', ...(signal ? { signal } : {}) });
      await nodeStream(res.data as Readable, onChunk);
    },
  },
  got: {
    text: async (url) => (await got(url, { retry: { limit: 0 } })).body,
    stream: (url, onChunk, signal) => nodeStream(got.stream(url, signal ? { signal } : {}), onChunk),
  },
  'node-fetch': {
    text: async (url) => (await nodeFetch(url)).text(),
    stream: async (url, onChunk, signal) => {
      const res = await nodeFetch(url, signal ? { signal } : {});
      await nodeStream(res.body as unknown as Readable, onChunk);
    },
  },
};

let server: CountingServer;
const gate = new SetGate();
const recorder = new MemoryRecorder();
const diagLines: string[] = [];
let handle: InterceptionHandle;

/** Lets a few macrotask turns pass (used to show something has NOT happened yet — no clock). */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

function errorChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e: unknown = err; e && chain.length < 6; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

beforeAll(async () => {
  server = await startCountingServer();
  gate.trust(server.url);
  configureDiag({ level: 'warn', sink: (l) => diagLines.push(l) });
  handle = installInterception({ gate, recorder, resolveScope, orgId: () => ORG });
});

afterAll(async () => {
  handle.uninstall();
  await server.close();
});

beforeEach(() => recorder.reset());
afterEach(() => setInterceptBodyHook(undefined));

describe.each(Object.keys(readers))('%s', (name) => {
  const reader = readers[name] as Reader;

  it('durable before end: the read resolves only after the recorder committed the row', async () => {
    const { finishing, commit } = recorder.holdCommit();
    let resolved = false;
    const read = inScope(() => reader.text(`${server.url}/json`)).then((text) => {
      resolved = true;
      return text;
    });
    await finishing; // the whole body is on the caller's side of the wire now
    await turns();
    expect(resolved).toBe(false); // end-of-body is held while the row is not committed
    expect(recorder.started[0]?.committed).toBe(false);
    commit();
    expect(JSON.parse(await read)).toEqual(JSON_BODY);
    expect(recorder.started[0]?.committed).toBe(true);
  });

  it('SSE: each event reaches the caller live, before the server sends the next', {
    timeout: 10_000,
  }, async () => {
    const seen: string[] = [];
    server.events.length = 0;
    await inScope(() =>
      reader.stream(`${server.url}/sse?events=3`, (text) => {
        for (const m of text.matchAll(/data: (\d+)/g)) {
          server.events.push(`caller:${m[1]}`);
          seen.push(m[1] as string);
          if (m[1] !== '3') server.sseTick(); // only now may the server send the next event
        }
      }),
    );
    expect(seen).toEqual(['1', '2', '3']);
    expect(server.events).toEqual([
      'sse:sent:1',
      'caller:1',
      'sse:sent:2',
      'caller:2',
      'sse:sent:3',
      'sse:end',
      'caller:3',
    ]);
    await recorder.waitFor(1);
    expect(recorder.calls[0]?.body.toString()).toBe('data: 1\n\ndata: 2\n\ndata: 3\n\n');
    expect(recorder.calls[0]?.error).toBeUndefined();
  });

  it('caller aborts mid-body: recorded with the error and the partial body; caller sees its abort', async () => {
    const controller = new AbortController();
    const err = await inScope(() =>
      reader.stream(
        `${server.url}/hang`,
        (text) => {
          if (text.includes('first')) controller.abort();
        },
        controller.signal,
      ),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    expect(
      errorChain(err).some(
        (e) =>
          (e as Error).name === 'AbortError' ||
          (e as { code?: string }).code === 'ABORT_ERR' ||
          (e as { code?: string }).code === 'ERR_CANCELED' ||
          /abort/i.test(String((e as Error).message)),
      ),
    ).toBe(true);
    await recorder.waitFor(1);
    expect(recorder.calls[0]?.error).toBeDefined();
    expect(recorder.calls[0]?.body.toString()).toBe('first');
    expect(recorder.calls[0]?.status).toBe(200);
  });

  it('connection closed mid-body by the server: recorded with the error and the partial body', async () => {
    const err = await inScope(() => reader.text(`${server.url}/partial?bytes=100&of=1000`)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    await recorder.waitFor(1);
    expect(recorder.calls[0]?.error).toBeDefined();
    expect(recorder.calls[0]?.body.length).toBe(100);
  });

  it('finish() rejects (fail-closed store): the caller’s read fails with that error', async () => {
    const failure = storeError();
    recorder.finishError = failure;
    const err = await inScope(() => reader.text(`${server.url}/json`)).then(
      () => undefined,
      (e: unknown) => e,
    );
    const chain = errorChain(err);
    if (name === 'http') expect(err).toBe(failure);
    else if (name === 'fetch')
      expect(chain).toEqual([expect.any(TypeError), failure]); // 'terminated'
    else expect((err as { code?: string }).code).toBe('PROVABLY_STORE_ERROR'); // own type, code kept
    expect(String((err as Error).message)).toContain(name === 'fetch' ? 'terminated' : failure.message);
  });

  it('body hook: the caller gets the replacement, the recorder the wire bytes', async () => {
    const seen: Array<[number, string]> = [];
    setInterceptBodyHook((index, raw) => {
      seen.push([index, Buffer.from(raw).toString()]);
      return JSON.stringify({ replaced: index });
    });
    const text = await inScope(() => reader.text(`${server.url}/json`), makeScope({ interceptIndex: 4 }));
    expect(JSON.parse(text)).toEqual({ replaced: 4 });
    expect(seen).toEqual([[4, JSON.stringify(JSON_BODY)]]);
    await recorder.waitFor(1);
    expect(recorder.calls[0]?.body.toString()).toBe(JSON.stringify(JSON_BODY));
    // Without an intercept index the hook is not consulted and nothing is buffered.
    const plain = await inScope(() => reader.text(`${server.url}/json`));
    expect(JSON.parse(plain)).toEqual(JSON_BODY);
    expect(seen).toHaveLength(1);
  });

  it('a throwing body hook: original body delivered, logged, nothing crashes', async () => {
    setInterceptBodyHook(() => {
      throw new Error('hook exploded');
    });
    const before = handle.stats().internalErrors;
    const text = await inScope(() => reader.text(`${server.url}/json`), makeScope({ interceptIndex: 1 }));
    expect(JSON.parse(text)).toEqual(JSON_BODY);
    expect(handle.stats().internalErrors).toBe(before + 1);
    expect(diagLines.some((l) => l.includes('body hook threw'))).toBe(true);
  });
});

it('fetch: the caller aborting while the commit is pending neither crashes nor loses the row', async () => {
  const { finishing, commit } = recorder.holdCommit();
  const controller = new AbortController();
  const res = await inScope(() => fetch(`${server.url}/json`, { signal: controller.signal }));
  const text = res.text();
  await finishing;
  controller.abort();
  await expect(text).rejects.toMatchObject({ name: 'AbortError' });
  commit();
  await recorder.waitFor(1);
  expect(recorder.calls[0]?.body.toString()).toBe(JSON.stringify(JSON_BODY));
});

/**
 * Every redirect hop is checked before it goes out: trusted → untrusted is refused at the hop and
 * the untrusted server sees nothing; trusted → trusted records each hop. Clients follow redirects
 * their own way (fetch and undici's interceptor re-dispatch; axios/got/node-fetch make a new
 * http request per hop) — each way is covered.
 */
import axios from 'axios';
import got from 'got';
import nodeFetch from 'node-fetch';
import * as undici8 from 'undici';
import * as undici7 from 'undici7';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { ProvablyBlockedError } from '../../src/errors/index.js';
import { installInterception } from '../../src/intercept/index.js';
import type { InterceptionHandle } from '../../src/intercept/types.js';
import type { ActiveScope } from '../../src/scope/types.js';
import { type CountingServer, JSON_BODY, startCountingServer } from '../helpers/counting-server.js';
import { inScope, MemoryRecorder, makeScope, ORG, resolveScope, SetGate } from './kit.js';

interface Dispatcher {
  request(opts: { path: string; method: string; origin?: string }): Promise<{
    statusCode: number;
    body: { text(): Promise<string> };
  }>;
  compose(...interceptors: unknown[]): Dispatcher;
  close(): Promise<void>;
}
interface Undici {
  Agent: new () => Dispatcher;
  fetch(url: string): Promise<Response>;
  interceptors: { redirect(opts: { maxRedirections: number }): unknown };
}

let trusted: CountingServer;
let untrusted: CountingServer;
const gate = new SetGate();
const recorder = new MemoryRecorder();
let handle: InterceptionHandle;
const dispatchers: Dispatcher[] = [];

function redirectingTo(target: string, status = 302): string {
  return `${trusted.url}/redirect?status=${status}&to=${encodeURIComponent(target)}`;
}

function refusal(err: unknown): boolean {
  for (let e: unknown = err, i = 0; e && i < 5; i++) {
    if (e instanceof ProvablyBlockedError) return true;
    if ((e as { code?: unknown }).code === 'PROVABLY_BLOCKED') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function viaInterceptor(u: Undici): Dispatcher {
  const d = new u.Agent().compose(u.interceptors.redirect({ maxRedirections: 3 }));
  dispatchers.push(d);
  return d;
}

/** Follows redirects with that undici's redirect interceptor (a fresh Agent per call). */
function interceptorFollower(u: Undici): (url: string) => Promise<string> {
  return async (url) => {
    const target = new URL(url);
    const res = await viaInterceptor(u).request({
      origin: target.origin,
      path: target.pathname + target.search,
      method: 'GET',
    });
    return res.body.text();
  };
}

const followers: Record<string, (url: string) => Promise<string>> = {
  fetch: async (url) => (await fetch(url)).text(),
  'undici 7 fetch': async (url) => (await (undici7 as unknown as Undici).fetch(url)).text(),
  'undici 8 fetch': async (url) => (await (undici8 as unknown as Undici).fetch(url)).text(),
  'undici 7 redirect interceptor': interceptorFollower(undici7 as unknown as Undici),
  'undici 8 redirect interceptor': interceptorFollower(undici8 as unknown as Undici),
  axios: async (url) => (await axios.get(url, { responseType: 'text' })).data as string,
  got: async (url) => (await got(url)).body,
  'node-fetch': async (url) => (await nodeFetch(url)).text(),
};

beforeAll(async () => {
  trusted = await startCountingServer();
  untrusted = await startCountingServer();
  gate.trust(trusted.url);
  configureDiag({ level: 'silent' });
  handle = installInterception({ gate, recorder, resolveScope, orgId: () => ORG });
});

afterAll(async () => {
  handle.uninstall();
  await Promise.all(dispatchers.map((d) => d.close().catch(() => {})));
  await Promise.all([trusted.close(), untrusted.close()]);
});

beforeEach(() => recorder.reset());

describe.each(Object.keys(followers))('%s', (name) => {
  const follow = followers[name] as (url: string) => Promise<string>;

  it('trusted → untrusted: refused at the hop, the untrusted server sees nothing', async () => {
    const asked = gate.asked.length;
    const target = `${untrusted.url}/json?from=${encodeURIComponent(name)}`;
    const err = await inScope(() => follow(redirectingTo(target))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refusal(err)).toBe(true);
    // Both hops were put to the gate, in order.
    expect(gate.asked.slice(asked).map((a) => a.url)).toEqual([redirectingTo(target), target]);
    await untrusted.settle();
    expect(untrusted.connections).toBe(0);
    expect(untrusted.bytesReceived).toBe(0);
    // The 302 exchange really happened and is recorded; the refused hop is not.
    await recorder.waitFor(1);
    expect(recorder.calls).toHaveLength(1);
    expect(recorder.calls[0]?.status).toBe(302);
    expect(recorder.calls[0]?.request.url).toBe(redirectingTo(target));
  });

  it('trusted → trusted: every hop is recorded under the caller’s scope', async () => {
    const scope = makeScope({ agentId: `agent-${name}`, actionName: 'follow' });
    const body = await inScope(() => follow(redirectingTo(`${trusted.url}/json`, 307)), scope);
    expect(JSON.parse(body)).toEqual(JSON_BODY);
    await recorder.waitFor(2);
    expect(recorder.calls.map((c) => [c.status, c.request.url])).toEqual([
      [307, redirectingTo(`${trusted.url}/json`, 307)],
      [200, `${trusted.url}/json`],
    ]);
    for (const call of recorder.calls) expect(call.scope.agentId).toBe(`agent-${name}`);
  });
});

/**
 * An interceptor that answers its first hop itself and re-dispatches the SAME handler for a
 * second hop from inside another scope's async context — what a redirect/retry handler does when
 * it runs in a socket callback whose context belongs to whoever opened the keep-alive socket.
 */
function rehopFrom(foreign: ActiveScope) {
  type Dispatch = (opts: Record<string, unknown>, handler: unknown) => unknown;
  type Handler = Record<string, (...args: unknown[]) => unknown>;
  return (dispatch: Dispatch) => (opts: Record<string, unknown>, handler: unknown) => {
    const inner = handler as Handler;
    let hop = 0;
    const again = () => inScope(() => dispatch({ ...opts, path: '/json?hop=2' }, h), foreign);
    const h: Handler =
      typeof inner.onRequestStart === 'function'
        ? {
            onRequestStart: (...a) => (hop === 1 ? inner.onRequestStart?.(...a) : undefined),
            onResponseStart: (...a) => (hop === 1 ? inner.onResponseStart?.(...a) : undefined),
            onResponseData: (...a) => (hop === 1 ? inner.onResponseData?.(...a) : undefined),
            onResponseEnd: (...a) => {
              if (hop++ === 0) again();
              else inner.onResponseEnd?.(...a);
            },
            onResponseError: (...a) => inner.onResponseError?.(...a),
          }
        : {
            onConnect: (...a) => (hop === 1 ? inner.onConnect?.(...a) : undefined),
            onHeaders: (...a) => (hop === 1 ? inner.onHeaders?.(...a) : true),
            onData: (...a) => (hop === 1 ? inner.onData?.(...a) : true),
            onComplete: (...a) => {
              if (hop++ === 0) again();
              else inner.onComplete?.(...a);
            },
            onError: (...a) => inner.onError?.(...a),
          };
    return dispatch(opts, h);
  };
}

describe('a re-dispatched handler keeps the scope of its call, whatever context it runs in', () => {
  for (const [label, u] of [
    ['undici 7', undici7],
    ['undici 8', undici8],
  ] as const) {
    it(`${label}: second hop dispatched from scope A's context is recorded (and checked) for scope B`, async () => {
      const d = new (u as unknown as Undici).Agent().compose(rehopFrom(makeScope({ agentId: 'A' })));
      dispatchers.push(d);
      const res = await inScope(
        () => d.request({ origin: trusted.url, path: '/json?hop=1', method: 'GET' }),
        makeScope({ agentId: 'B' }),
      );
      expect(JSON.parse(await res.body.text())).toEqual(JSON_BODY);
      await recorder.waitFor(2);
      expect(recorder.calls.map((c) => [c.scope.agentId, c.request.url])).toEqual([
        ['B', `${trusted.url}/json?hop=1`],
        ['B', `${trusted.url}/json?hop=2`],
      ]);
    });
  }
});

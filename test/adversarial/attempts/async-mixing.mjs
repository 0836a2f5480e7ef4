// Work started in a scope that runs later (timers, callbacks, event emitters, promise chains,
// queued microtasks) must still be governed; and scoped and unscoped calls sharing pools,
// keep-alive sockets and retries must never leak into each other (mis-tag or false block).
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { call, shapeOf, text, undiciText } from '../kit/child-lib.mjs';

const undici8 = () => import('undici');

/** Runs `start(resolve, reject)` and wraps the deferred fetch's outcome. */
const later = (schedule) => (c) =>
  new Promise((resolve, reject) => {
    schedule(() => text(fetch(`${c.T.url}/later`)).then(resolve, reject));
  });

const async = [
  ['timer-settimeout', 'setTimeout(fetch, 10) started in scope', later((f) => setTimeout(f, 10))],
  ['timer-setimmediate', 'setImmediate(fetch)', later((f) => setImmediate(f))],
  [
    'timer-setinterval',
    'setInterval(fetch) — first tick, then cleared',
    later((f) => {
      const t = setInterval(() => {
        clearInterval(t);
        f();
      }, 5);
    }),
  ],
  ['timer-process-nexttick', 'process.nextTick(fetch)', later((f) => process.nextTick(f))],
  ['timer-queuemicrotask', 'queueMicrotask(fetch)', later((f) => queueMicrotask(f))],
  [
    'timer-promise-then-chain',
    'Promise.resolve().then().then(fetch)',
    later((f) =>
      Promise.resolve()
        .then(() => 1)
        .then(f),
    ),
  ],
  ['timer-timers-promises', 'await timers/promises setTimeout then fetch', later((f) => sleep(5).then(f))],
  [
    'timer-eventemitter',
    'an EventEmitter listener (registered in scope) emitted later',
    later((f) => {
      const e = new EventEmitter();
      e.on('go', f);
      setTimeout(() => e.emit('go'), 5);
    }),
  ],
  [
    'timer-http-callback-chain',
    'inside the response callback of a trusted call, an untrusted call',
    (c) =>
      new Promise((resolve, reject) => {
        http
          .get(`${c.TR}/first`, (res) => {
            res.resume();
            res.on('end', () => call(http, `${c.T.url}/second`).then(resolve, reject));
          })
          .on('error', reject);
      }),
  ],
  [
    'timer-after-trusted-fetch',
    'await a trusted fetch, then fetch the untrusted URL in the same scope',
    async (c) => {
      await text(fetch(`${c.TR}/first`));
      return text(fetch(`${c.T.url}/second`));
    },
  ],
  [
    'timer-abort-signal-timeout',
    'fetch(untrusted) triggered from an AbortSignal.timeout abort listener',
    later((f) => AbortSignal.timeout(5).addEventListener('abort', f)),
  ],
  ['timer-unref-timer', 'an unref()ed setTimeout started in scope', later((f) => setTimeout(f, 10).unref())],
];

/** Unscoped and scoped traffic mixed; see kind 'mixed' in the test: run returns { scoped, unscoped }. */
const settle = (p) =>
  Promise.resolve()
    .then(() => p)
    .then(
      (value) => ({ ok: true, value }),
      (error) => ({ ok: false, error: shapeOf(error) }),
    );

const mixing = [
  {
    id: 'mix-shared-undici-agent',
    description:
      'one undici 8 Agent: unscoped calls to the untrusted server interleaved with scoped calls to it',
    run: async (c, { outside }) => {
      const agent = new (await undici8()).Agent({ keepAliveTimeout: 10_000 });
      const u = await undici8();
      const unscoped = [];
      const scoped = [];
      for (let i = 0; i < 10; i++) {
        unscoped.push(
          outside(() => settle(undiciText(u.request(`${c.T.url}/outside-${i}`, { dispatcher: agent })))),
        );
        scoped.push(settle(undiciText(u.request(`${c.T.url}/in-scope-${i}`, { dispatcher: agent }))));
      }
      return { unscoped: await Promise.all(unscoped), scoped: await Promise.all(scoped) };
    },
  },
  {
    id: 'mix-shared-http-keepalive-agent',
    description:
      'one keep-alive http.Agent: unscoped untrusted calls, then scoped ones reusing the free sockets',
    run: async (c, { outside }) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
      const unscoped = [];
      for (let i = 0; i < 4; i++)
        unscoped.push(await outside(() => settle(call(http, `${c.T.url}/outside-${i}`, { agent }))));
      const scoped = [];
      for (let i = 0; i < 4; i++)
        scoped.push(await settle(call(http, `${c.T.url}/in-scope-${i}`, { agent })));
      return { unscoped, scoped };
    },
  },
  {
    id: 'mix-global-fetch-interleaved',
    description: 'global fetch: unscoped and scoped calls to the same untrusted origin, concurrently',
    run: async (c, { outside }) => {
      const unscoped = [];
      const scoped = [];
      for (let i = 0; i < 10; i++) {
        unscoped.push(outside(() => settle(text(fetch(`${c.T.url}/outside-${i}`)))));
        scoped.push(settle(text(fetch(`${c.T.url}/in-scope-${i}`))));
      }
      return { unscoped: await Promise.all(unscoped), scoped: await Promise.all(scoped) };
    },
  },
  {
    id: 'mix-retry-interceptor',
    description:
      'undici 8 retry interceptor on a shared Agent: unscoped retried calls next to scoped refused ones',
    run: async (c, { outside }) => {
      const u = await undici8();
      const agent = new u.Agent().compose(
        u.interceptors.retry({ maxRetries: 2, minTimeout: 5, statusCodes: [500] }),
      );
      const unscoped = [];
      const scoped = [];
      for (let i = 0; i < 6; i++) {
        unscoped.push(
          outside(() => settle(undiciText(u.request(`${c.T.url}/outside-${i}`, { dispatcher: agent })))),
        );
        scoped.push(settle(undiciText(u.request(`${c.T.url}/in-scope-${i}`, { dispatcher: agent }))));
      }
      return { unscoped: await Promise.all(unscoped), scoped: await Promise.all(scoped) };
    },
  },
  {
    id: 'mix-scope-opened-socket-unscoped-reuse',
    description:
      'a scoped TRUSTED call opens a keep-alive socket; an unscoped call on the same agent must not be recorded',
    trustedOnly: true,
    run: async (c, { outside }) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const scoped = [await settle(call(http, `${c.TR}/in-scope-0`, { agent }))];
      const unscoped = [await outside(() => settle(call(http, `${c.TR}/outside-0`, { agent })))];
      scoped.push(await settle(call(http, `${c.TR}/in-scope-1`, { agent })));
      return { unscoped, scoped };
    },
  },
];

export default [
  ...async.map(([id, description, run]) => ({
    id,
    class: 'async-in-scope',
    description,
    run,
    needs: ['http'],
  })),
  ...mixing.map((a) => ({ class: 'mixing', kind: 'mixed', needs: ['http'], ...a })),
];

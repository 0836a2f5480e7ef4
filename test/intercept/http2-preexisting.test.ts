/**
 * A session opened BEFORE interception was installed (the connect patch never saw it): its origin
 * is the address its socket is connected to, and scoped requests on it are governed per request.
 */
import http2, { type ClientHttp2Session } from 'node:http2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { ProvablyBlockedError } from '../../src/errors/index.js';
import { installInterception } from '../../src/intercept/index.js';
import type { InterceptionHandle } from '../../src/intercept/types.js';
import { type H2Server, startH2Server } from '../helpers/h2-server.js';
import { inScope, MemoryRecorder, ORG, resolveScope, SetGate } from './kit.js';

let trusted: H2Server;
let untrusted: H2Server;
let toTrusted: ClientHttp2Session;
let toUntrusted: ClientHttp2Session;
let handle: InterceptionHandle;
const recorder = new MemoryRecorder();

function get(session: ClientHttp2Session, path: string): Promise<{ status?: number; error?: unknown }> {
  return new Promise((resolve) => {
    const stream = session.request({ ':path': path });
    let status: number | undefined;
    stream.on('response', (h) => {
      status = Number(h[':status']);
    });
    stream.resume();
    stream.on('end', () => resolve({ status }));
    stream.on('error', (error) => resolve({ error }));
  });
}

beforeAll(async () => {
  [trusted, untrusted] = await Promise.all([startH2Server(), startH2Server()]);
  toTrusted = http2.connect(trusted.origin);
  toUntrusted = http2.connect(untrusted.origin);
  await Promise.all([toTrusted, toUntrusted].map((s) => new Promise((r) => s.once('connect', r))));
  configureDiag({ level: 'error', sink: () => {} });
  const gate = new SetGate().trust(trusted.origin);
  handle = installInterception({ gate, recorder, resolveScope, orgId: () => ORG });
});

afterAll(async () => {
  handle.uninstall();
  toTrusted.destroy();
  toUntrusted.destroy();
  await Promise.all([trusted.close(), untrusted.close()]);
});

it('scoped requests: trusted peer allowed and recorded, untrusted refused with 0 streams', async () => {
  const ok = await inScope(() => get(toTrusted, '/before'));
  expect(ok.status).toBe(200);
  await recorder.waitFor(1);
  expect(recorder.calls[0]?.request.url).toBe(`${trusted.origin}/before`);
  const before = untrusted.streams;
  const refused = await inScope(() => get(toUntrusted, '/secret'));
  expect(refused.error).toBeInstanceOf(ProvablyBlockedError);
  expect((await get(toUntrusted, '/free')).status).toBe(200);
  expect(untrusted.streams - before).toBe(1);
});

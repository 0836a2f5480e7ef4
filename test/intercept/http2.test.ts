/**
 * node:http2 client requests against real HTTP/2 servers (TLS with a self-signed certificate, and
 * h2c) that count connections, sessions and streams.
 */
import { X509Certificate } from 'node:crypto';
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { ProvablyBlockedError } from '../../src/errors/index.js';
import { installInterception, setInterceptBodyHook } from '../../src/intercept/index.js';
import type { InterceptionHandle } from '../../src/intercept/types.js';
import { bigBody, JSON_BODY } from '../helpers/counting-server.js';
import { type H2Server, startH2Server } from '../helpers/h2-server.js';
import { inScope, MemoryRecorder, makeScope, ORG, resolveScope, SetGate, storeError } from './kit.js';

let trusted: H2Server;
let trustedTls: H2Server;
let untrusted: H2Server;
const gate = new SetGate();
const recorder = new MemoryRecorder();
let handle: InterceptionHandle;
const open: ClientHttp2Session[] = [];

function connect(server: H2Server, options: http2.SecureClientSessionOptions = {}): ClientHttp2Session {
  const session = http2.connect(server.origin, { ca: server.ca, ...options });
  session.on('error', () => {});
  open.push(session);
  return session;
}

interface Outcome {
  status?: number;
  body: Buffer;
  error?: unknown;
}

function exchange(stream: ClientHttp2Stream): Promise<Outcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let status: number | undefined;
    stream.on('response', (h) => {
      status = Number(h[':status']);
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
    stream.on('error', (error) => resolve({ status, body: Buffer.concat(chunks), error }));
  });
}

function get(session: ClientHttp2Session, path: string, headers: OutgoingHttpHeaders = {}): Promise<Outcome> {
  return exchange(session.request({ ':path': path, ...headers }));
}

async function closeAll(): Promise<void> {
  for (const s of open.splice(0)) s.destroy();
}

beforeAll(async () => {
  [trusted, trustedTls, untrusted] = await Promise.all([
    startH2Server(),
    startH2Server({ tls: true }),
    startH2Server(),
  ]);
  gate.trust(trusted.origin, trustedTls.origin);
  configureDiag({ level: 'error', sink: () => {} });
  handle = installInterception({ gate, recorder, resolveScope, orgId: () => ORG });
});

afterAll(async () => {
  handle.uninstall();
  await closeAll();
  await Promise.all([trusted, trustedTls, untrusted].map((s) => s.close()));
});

beforeEach(() => {
  recorder.reset();
  gate.pendingAnswers = 0;
  gate.failWith = undefined;
});

afterEach(closeAll);

describe('allowed requests are recorded', () => {
  it('h2c: status, headers, body, peer', async () => {
    const session = connect(trusted);
    const out = await inScope(() => get(session, '/json?x=1', { 'x-req': 'a' }));
    expect(out.error).toBeUndefined();
    expect(out.status).toBe(200);
    expect(JSON.parse(out.body.toString())).toEqual(JSON_BODY);
    await recorder.waitFor(1);
    const call = recorder.calls[0];
    expect(call?.request.url).toBe(`${trusted.origin}/json?x=1`);
    expect(call?.request.method).toBe('GET');
    expect(call?.request.headers['x-req']).toBe('a');
    expect(call?.status).toBe(200);
    expect(call?.headers?.['x-test']).toBe('h2');
    expect(call?.headers?.[':status']).toBeUndefined();
    expect(call?.body.equals(out.body)).toBe(true);
    expect(call?.peer).toEqual({
      address: '127.0.0.1',
      port: trusted.port,
      protocol: 'h2',
      tls: null,
      proxy: null,
    });
    expect(call?.scope.agentId).toBe('agent-1');
  });

  it('TLS: the peer is the certificate the server presented', async () => {
    const session = connect(trustedTls);
    const out = await inScope(() => get(session, '/big?bytes=300000'));
    expect(out.body.equals(bigBody(300_000))).toBe(true);
    await recorder.waitFor(1);
    const call = recorder.calls[0];
    const cert = new X509Certificate(trustedTls.ca as string);
    expect(call?.body.equals(bigBody(300_000))).toBe(true);
    expect(call?.peer?.tls?.certSha256).toBe(cert.fingerprint256.replaceAll(':', '').toLowerCase());
    expect(call?.peer?.tls?.subject).toContain('CN=127.0.0.1');
    expect(call?.peer?.tls?.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(call?.peer?.protocol).toBe('h2');
  });

  it('end of body reaches the caller only after the row is committed', async () => {
    const hold = recorder.holdCommit();
    const session = connect(trusted);
    let ended = false;
    const done = inScope(() => get(session, '/json')).then((o) => {
      ended = true;
      return o;
    });
    await hold.finishing;
    expect(ended).toBe(false);
    expect(recorder.calls).toHaveLength(0);
    hold.commit();
    const out = await done;
    expect(out.status).toBe(200);
    expect(recorder.calls[0]?.committed).toBe(true);
  });

  it('a commit that fails (fail-closed store) fails the caller’s read with its error', async () => {
    recorder.finishError = storeError();
    const session = connect(trusted);
    const out = await inScope(() => get(session, '/json'));
    expect((out.error as { code?: string }).code).toBe('PROVABLY_STORE_ERROR');
  });

  it('a gate answer still loading is waited for; the request then goes out', async () => {
    gate.pendingAnswers = 1;
    const session = connect(trusted);
    await new Promise((r) => session.once('connect', r));
    const out = await inScope(() => get(session, '/wait'));
    expect(out.body.toString()).toBe('ok /wait');
    await recorder.waitFor(1);
    expect(recorder.calls[0]?.request.url).toBe(`${trusted.origin}/wait`);
  });
});

describe('shared sessions under mixed load', () => {
  it('200 interleaved scoped/unscoped requests on shared sessions: 0 false blocks, 0 mis-tags', async () => {
    const good = connect(trusted);
    const bad = connect(untrusted);
    const beforeBad = untrusted.streams;
    const jobs: Array<Promise<{ kind: string; agent: string; out: Outcome }>> = [];
    for (let i = 0; i < 200; i++) {
      const agent = `agent-${i}`;
      const kind = ['scoped-trusted', 'unscoped-trusted', 'scoped-untrusted', 'unscoped-untrusted'][
        i % 4
      ] as string;
      const session = kind.endsWith('untrusted') ? bad : good;
      const run = () => get(session, `/n/${i}`);
      const out = kind.startsWith('scoped') ? inScope(run, makeScope({ agentId: agent })) : run();
      jobs.push(out.then((o) => ({ kind, agent, out: o })));
    }
    const results = await Promise.all(jobs);
    for (const r of results) {
      if (r.kind === 'scoped-untrusted') expect(r.out.error, r.agent).toBeInstanceOf(ProvablyBlockedError);
      else expect(r.out.status, `${r.kind} ${r.agent}`).toBe(200);
    }
    await recorder.waitFor(50);
    expect(recorder.calls).toHaveLength(50);
    for (const call of recorder.calls) {
      const i = Number(call.request.url.split('/n/')[1]);
      expect(i % 4).toBe(0);
      expect(call.scope.agentId).toBe(`agent-${i}`);
      expect(call.body.toString()).toBe(`ok /n/${i}`);
    }
    expect(untrusted.streams - beforeBad).toBe(50);
  });

  it('a body hook replaces what the caller sees; the record keeps the wire bytes', async () => {
    setInterceptBodyHook((index, raw) => `hooked ${index} ${Buffer.from(raw).toString()}`);
    try {
      const session = connect(trusted);
      const out = await inScope(() => get(session, '/hook'), makeScope({ interceptIndex: 3 }));
      expect(out.body.toString()).toBe('hooked 3 ok /hook');
      await recorder.waitFor(1);
      expect(recorder.calls[0]?.body.toString()).toBe('ok /hook');
    } finally {
      setInterceptBodyHook(undefined);
    }
  });
});

describe('refused requests never reach the wire', () => {
  it('a session opened outside a scope to an untrusted server: 0 streams from the scoped request', async () => {
    const before = untrusted.streams;
    const session = connect(untrusted);
    await new Promise((r) => session.once('connect', r));
    const out = await inScope(() => get(session, '/secret'));
    expect(out.error).toBeInstanceOf(ProvablyBlockedError);
    expect((out.error as ProvablyBlockedError).url).toBe(`${untrusted.origin}/secret`);
    // The same session still works outside the scope: decided per request.
    const outside = await get(session, '/outside');
    expect(outside.body.toString()).toBe('ok /outside');
    expect(untrusted.streams - before).toBe(1);
    expect(untrusted.paths).not.toContain('/secret');
    expect(recorder.started).toHaveLength(0);
  });

  it('refused while the session is still connecting, and while the gate is loading', async () => {
    const before = untrusted.streams;
    const session = connect(untrusted);
    const first = inScope(() => get(session, '/connecting'));
    gate.pendingAnswers = 1;
    const second = inScope(() => get(session, '/loading'));
    const [a, b] = await Promise.all([first, second]);
    expect(a.error).toBeInstanceOf(ProvablyBlockedError);
    expect(b.error).toBeInstanceOf(ProvablyBlockedError);
    expect(await get(session, '/after')).toMatchObject({ status: 200 });
    expect(untrusted.streams - before).toBe(1);
  });

  it.each([
    [
      'a trusted :authority over a session to an untrusted host',
      () => ({ ':authority': `127.0.0.1:${trusted.port}` }),
    ],
    [
      'a trusted host header over a session to an untrusted host',
      () => ({ host: `127.0.0.1:${trusted.port}` }),
    ],
    ['a scheme the session does not speak', () => ({ ':scheme': 'https' })],
  ])('%s is refused', async (_name, headers) => {
    const before = untrusted.streams;
    const session = connect(untrusted);
    const out = await inScope(() => get(session, '/forged', headers()));
    expect(out.error).toBeInstanceOf(ProvablyBlockedError);
    await get(session, '/marker');
    expect(untrusted.streams - before).toBe(1);
    expect(recorder.started).toHaveLength(0);
  });

  it('forged :authority in raw header arrays, with userinfo, or in upper case with a path: refused', async () => {
    const before = untrusted.streams;
    const session = connect(untrusted);
    const forged = [
      [':path', '/raw', ':authority', `127.0.0.1:${trusted.port}`],
      { ':path': '/userinfo', ':authority': `user@127.0.0.1:${trusted.port}` },
      { ':path': '/slash', ':authority': `127.0.0.1:${untrusted.port}/../` },
    ];
    for (const headers of forged) {
      const out = await inScope(() => exchange(session.request(headers as OutgoingHttpHeaders)));
      expect(out.error, JSON.stringify(headers)).toBeInstanceOf(ProvablyBlockedError);
    }
    await get(session, '/marker');
    expect(untrusted.streams - before).toBe(1);
    expect(recorder.started).toHaveLength(0);
  });

  it('the session’s own authority spelled differently (upper case) is the same origin: allowed', async () => {
    const session = connect(trusted);
    const out = await inScope(() =>
      get(session, '/case', { ':authority': `127.0.0.1:${trusted.port}`.toUpperCase() }),
    );
    expect(out.status).toBe(200);
  });

  it('an untrusted :authority over a trusted session is refused (0 streams)', async () => {
    const before = trusted.streams;
    const session = connect(trusted);
    const out = await inScope(() => get(session, '/x', { ':authority': `127.0.0.1:${untrusted.port}` }));
    expect(out.error).toBeInstanceOf(ProvablyBlockedError);
    const disagree = await inScope(() =>
      get(session, '/y', { ':authority': `127.0.0.1:${trusted.port}`, host: 'evil.example' }),
    );
    expect(disagree.error).toBeInstanceOf(ProvablyBlockedError);
    await get(session, '/marker');
    expect(trusted.streams - before).toBe(1);
  });

  it('HTTP/2 CONNECT inside a scope is refused', async () => {
    const session = connect(trusted);
    const before = trusted.streams;
    const out = await inScope(() =>
      exchange(session.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${untrusted.port}` })),
    );
    expect(out.error).toBeInstanceOf(ProvablyBlockedError);
    await get(session, '/marker');
    expect(trusted.streams - before).toBe(1);
  });

  it('http2.connect inside a scope to an untrusted origin never connects', async () => {
    await untrusted.settle();
    const before = untrusted.connections;
    const errors: unknown[] = [];
    let connected = false;
    const session = inScope(() =>
      http2.connect(untrusted.origin, () => {
        connected = true;
      }),
    );
    open.push(session);
    session.on('error', (e) => errors.push(e));
    session.on('connect', () => {
      connected = true;
    });
    const out = await exchange(session.request({ ':path': '/x' }));
    await new Promise((r) => session.once('close', r));
    await untrusted.settle();
    expect(errors[0]).toBeInstanceOf(ProvablyBlockedError);
    expect(out.error).toBeInstanceOf(ProvablyBlockedError);
    expect(connected).toBe(false);
    expect(untrusted.connections).toBe(before);
  });

  it('while the gate’s first answer is loading, a scoped http2.connect to an untrusted origin waits and never connects', async () => {
    // The connection guard waits for the org's trusted set before it lets a scoped socket connect.
    await untrusted.settle();
    const before = { connections: untrusted.connections, streams: untrusted.streams };
    gate.pendingAnswers = 2; // the connect's question, then the request's
    const session = inScope(() => http2.connect(untrusted.origin));
    open.push(session);
    session.on('error', () => {});
    const out = await inScope(() => get(session, '/x'));
    const err = out.error as (Error & { cause?: unknown }) | undefined;
    expect(err).toBeDefined();
    expect(err instanceof ProvablyBlockedError || err?.cause instanceof ProvablyBlockedError).toBe(true);
    session.destroy();
    await untrusted.settle();
    expect(untrusted.connections - before.connections).toBe(0);
    expect(untrusted.streams - before.streams).toBe(0);
  });

  it('a session whose options send the socket elsewhere than its authority is refused in a scope', async () => {
    await untrusted.settle();
    const before = untrusted.connections;
    // Node spreads `port` over the connect target: this connects to the untrusted server.
    const session = inScope(() => http2.connect(trusted.origin, { port: untrusted.port } as never));
    open.push(session);
    session.on('error', () => {});
    const out = await exchange(session.request({ ':path': '/x' }));
    expect(out.error).toBeInstanceOf(ProvablyBlockedError);
    await new Promise((r) => session.once('close', r));
    await untrusted.settle();
    expect(untrusted.connections).toBe(before);
  });

  it('a session opened outside a scope with a misleading port: scoped requests refused', async () => {
    const before = untrusted.streams;
    const session = http2.connect(trusted.origin, { port: untrusted.port } as never);
    open.push(session);
    session.on('error', () => {});
    const out = await inScope(() => get(session, '/x'));
    expect(out.error).toBeInstanceOf(ProvablyBlockedError);
    expect((out.error as Error).message).toContain('not to its authority');
    await get(session, '/marker');
    expect(untrusted.streams - before).toBe(1);
  });
});

describe('sessions over the caller’s own connection (createConnection, as gRPC does)', () => {
  function custom(authority: H2Server, target: H2Server): ClientHttp2Session {
    const session = http2.connect(authority.origin, {
      createConnection: () => net.connect(target.port, '127.0.0.1'),
    });
    session.on('error', () => {});
    open.push(session);
    return session;
  }

  it('a socket to another server than the authority: refused before and after it connected, 0 streams', async () => {
    const before = untrusted.streams;
    const session = custom(trusted, untrusted);
    const early = inScope(() => get(session, '/early'));
    await new Promise((r) => session.once('connect', r));
    const late = await inScope(() => get(session, '/late'));
    expect((await early).error).toBeInstanceOf(ProvablyBlockedError);
    expect(late.error).toBeInstanceOf(ProvablyBlockedError);
    expect((late.error as Error).message).toContain(`connected to port ${untrusted.port}`);
    await get(session, '/marker');
    expect(untrusted.streams - before).toBe(1);
    expect(recorder.started).toHaveLength(0);
  });

  it('a socket to the authority itself: allowed (waiting for connect when needed) and recorded', async () => {
    const session = custom(trusted, trusted);
    const out = await inScope(() => get(session, '/own'));
    expect(out.body.toString()).toBe('ok /own');
    await recorder.waitFor(1);
    expect(recorder.calls[0]?.peer?.port).toBe(trusted.port);
  });
});

describe('outside a scope nothing is touched', () => {
  it('untrusted servers answer, the gate is not asked, nothing is recorded', async () => {
    const asked = gate.asked.length;
    const session = connect(untrusted);
    const out = await get(session, '/free');
    expect(out.body.toString()).toBe('ok /free');
    expect(gate.asked.length).toBe(asked);
    expect(recorder.started).toHaveLength(0);
  });
});

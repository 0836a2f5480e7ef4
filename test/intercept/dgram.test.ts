/**
 * node:dgram inside a scope: only PROVABLY_ALLOW_UDP destinations, against a real UDP server that
 * counts datagrams. "Nothing arrived" is proven with a marker datagram sent afterwards from the
 * same socket outside the scope (one socket's datagrams arrive in order on loopback).
 */
import dgram from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { ProvablyBlockedError, ProvablyConfigError } from '../../src/errors/index.js';
import { installInterception } from '../../src/intercept/index.js';
import type { InterceptionHandle } from '../../src/intercept/types.js';
import { startUdpServer, type UdpServer } from '../helpers/udp-server.js';
import { inScope, MemoryRecorder, ORG, resolveScope, SetGate } from './kit.js';

let server: UdpServer;
let handle: InterceptionHandle;
const sockets: dgram.Socket[] = [];

function socket(): dgram.Socket {
  const s = dgram.createSocket('udp4');
  sockets.push(s);
  return s;
}

function sendWithCallback(
  s: dgram.Socket,
  msg: string,
  port: number,
  host = '127.0.0.1',
): Promise<Error | null> {
  return new Promise((resolve) => s.send(msg, port, host, (err) => resolve(err ?? null)));
}

/** Sends a marker outside any scope and waits for it: every earlier datagram of `s` has arrived by then. */
async function marker(s: dgram.Socket): Promise<string[]> {
  await sendWithCallback(s, 'marker', server.port);
  await server.waitForText('marker');
  return server.datagrams.map((d) => d.toString());
}

beforeAll(async () => {
  server = await startUdpServer();
  configureDiag({ level: 'error', sink: () => {} });
  handle = installInterception({
    gate: new SetGate(),
    recorder: new MemoryRecorder(),
    resolveScope,
    orgId: () => ORG,
  });
});

afterAll(async () => {
  handle.uninstall();
  await server.close();
});

afterEach(() => {
  delete process.env.PROVABLY_ALLOW_UDP;
  for (const s of sockets.splice(0)) s.close();
  server.datagrams.length = 0;
});

describe('inside a scope', () => {
  it('a send to an unlisted destination: the callback gets ProvablyBlockedError, 0 datagrams', async () => {
    const s = socket();
    const err = await inScope(() => sendWithCallback(s, 'secret', server.port));
    expect(err).toBeInstanceOf(ProvablyBlockedError);
    expect((err as ProvablyBlockedError).url).toBe(`udp://127.0.0.1:${server.port}`);
    expect(await marker(s)).toEqual(['marker']);
  });

  it('without a callback the refusal is the socket’s error event', async () => {
    const s = socket();
    const error = new Promise((resolve) => s.once('error', resolve));
    inScope(() => s.send('secret', server.port, '127.0.0.1'));
    expect(await error).toBeInstanceOf(ProvablyBlockedError);
    expect(await marker(s)).toEqual(['marker']);
  });

  it('offset/length and default-address forms are checked too', async () => {
    const s = socket();
    const a = await inScope(
      () =>
        new Promise<Error | null>((r) =>
          s.send(Buffer.from('xsecret'), 1, 6, server.port, (e) => r(e ?? null)),
        ),
    );
    expect(a).toBeInstanceOf(ProvablyBlockedError);
    expect(await marker(s)).toEqual(['marker']);
  });

  it('a listed destination is allowed', async () => {
    process.env.PROVABLY_ALLOW_UDP = `127.0.0.1:${server.port}`;
    const s = socket();
    expect(await inScope(() => sendWithCallback(s, 'metric', server.port))).toBeNull();
    expect(await marker(s)).toEqual(['metric', 'marker']);
  });

  it('connect() to an unlisted destination is refused (callback, or error event); the socket stays unconnected', async () => {
    const s = socket();
    const viaCallback = await inScope(
      () => new Promise<unknown>((resolve) => s.connect(server.port, '127.0.0.1', resolve as () => void)),
    );
    expect(viaCallback).toBeInstanceOf(ProvablyBlockedError);
    const s2 = socket();
    const viaEvent = await inScope(
      () =>
        new Promise<unknown>((resolve) => {
          s2.once('error', resolve);
          s2.connect(server.port, '127.0.0.1');
        }),
    );
    expect(viaEvent).toBeInstanceOf(ProvablyBlockedError);
    expect(() => s.remoteAddress()).toThrow();
    expect(() => s2.remoteAddress()).toThrow();
  });

  it('a socket connected outside the scope cannot send to its unlisted peer from inside', async () => {
    const s = socket();
    await new Promise<void>((r) => s.connect(server.port, '127.0.0.1', () => r()));
    const err = await inScope(() => new Promise<Error | null>((r) => s.send('secret', (e) => r(e ?? null))));
    expect(err).toBeInstanceOf(ProvablyBlockedError);
    await new Promise<void>((r) => s.send('marker', () => r()));
    await server.waitForText('marker');
    expect(server.datagrams.map(String)).toEqual(['marker']);
  });

  it('RESIDUAL: names are compared as written: localhost:<port> listed does not allow 127.0.0.1', async () => {
    process.env.PROVABLY_ALLOW_UDP = `localhost:${server.port}`;
    const s = socket();
    expect(await inScope(() => sendWithCallback(s, 'by-ip', server.port, '127.0.0.1'))).toBeInstanceOf(
      ProvablyBlockedError,
    );
    expect(await marker(s)).toEqual(['marker']);
  });

  it('an unusable PROVABLY_ALLOW_UDP fails the send with ProvablyConfigError', async () => {
    process.env.PROVABLY_ALLOW_UDP = '127.0.0.1';
    const s = socket();
    const err = await inScope(() => sendWithCallback(s, 'x', server.port));
    expect(err).toBeInstanceOf(ProvablyConfigError);
    expect((err as ProvablyConfigError).setting).toBe('PROVABLY_ALLOW_UDP');
    expect(await marker(s)).toEqual(['marker']);
  });
});

describe('outside a scope', () => {
  it('any destination is reached', async () => {
    const s = socket();
    expect(await sendWithCallback(s, 'free', server.port)).toBeNull();
    expect(await marker(s)).toEqual(['free', 'marker']);
  });
});

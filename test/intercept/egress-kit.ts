/**
 * Test parts for the connection guard and proxies: a real forward proxy (the `proxy` package:
 * absolute-form HTTP and CONNECT) and a unix-socket server, both counting the connections and
 * bytes they accept, and small promise wrappers around socket and request outcomes.
 */
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProxy } from 'proxy';

export interface CountingListener {
  readonly url: string;
  readonly port: number;
  readonly connections: number;
  readonly bytesReceived: number;
  close(): Promise<void>;
}

function count(server: net.Server): { connections: number; bytes: number; sockets: Set<net.Socket> } {
  const state = { connections: 0, bytes: 0, sockets: new Set<net.Socket>() };
  server.on('connection', (socket: net.Socket) => {
    state.connections++;
    state.sockets.add(socket);
    socket.on('data', (d: Buffer) => {
      state.bytes += d.length;
    });
    socket.on('close', () => state.sockets.delete(socket));
  });
  return state;
}

async function closeAll(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A real HTTP forward proxy (absolute-form and CONNECT) on 127.0.0.1 that counts connections. */
export async function startProxy(): Promise<CountingListener> {
  const server = createProxy(http.createServer());
  const state = count(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return state.connections;
    },
    get bytesReceived() {
      return state.bytes;
    },
    close: () => closeAll(server, state.sockets),
  };
}

/** An HTTP server on a unix socket answering 200 "unix" to anything, counting connections. */
export async function startUnixServer(): Promise<CountingListener & { path: string }> {
  const path = join(mkdtempSync(join(tmpdir(), 'provably-unix-')), 's.sock');
  const server = http.createServer((_req, res) => res.end('unix'));
  const state = count(server);
  server.listen(path);
  await once(server, 'listening');
  return {
    url: `unix:${path}`,
    path,
    port: 0,
    get connections() {
      return state.connections;
    },
    get bytesReceived() {
      return state.bytes;
    },
    close: () => closeAll(server, state.sockets),
  };
}

/** Resolves with 'connected' or the error a socket fails with. */
export function socketOutcome(socket: net.Socket): Promise<unknown> {
  return new Promise((resolve) => {
    socket.once('error', resolve);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve('connected');
    });
  });
}

/** Runs an http.request and resolves with { status, body } or the error it fails with. */
export function httpOutcome(
  make: () => http.ClientRequest,
): Promise<{ status: number; body: string } | Error> {
  return new Promise((resolve) => {
    let req: http.ClientRequest;
    try {
      req = make();
    } catch (err) {
      resolve(err as Error);
      return;
    }
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', resolve);
    });
    req.on('error', resolve);
    req.end();
  });
}

/** Resolves with the value of `p` or the error it rejects with. */
export function settled<T>(p: () => Promise<T>): Promise<T | Error> {
  return p().then(
    (v) => v,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
}

/**
 * The refusal behind an error as clients report it (fetch puts it in `cause`, axios keeps
 * `code`, socks-proxy-agent re-wraps it keeping only the message).
 */
export function isBlocked(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 4 && e !== null && typeof e === 'object'; i++) {
    if ((e as { code?: unknown }).code === 'PROVABLY_BLOCKED') return true;
    if (/^BLOCKED: /.test(String((e as { message?: unknown }).message))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The servers of the adversarial suite, in the test process:
 *
 * - UNTRUSTED targets, one set per attempt (so every connection and byte is attributable): plain
 *   TCP HTTP, TLS (its OWN certificate, distinct from the trusted one), a unix-socket HTTP server,
 *   a UDP socket. The HTTP ones answer `200 untrusted:<id>` to ANY request — origin-form,
 *   absolute-form (what a forward proxy receives), CONNECT (answered "established", then the
 *   tunnel is served by the same untrusted HTTP or TLS server: a forging proxy) — so an attempt that
 *   reaches one gets a believable success, which is what a forged record would carry.
 * - The TRUSTED servers (HTTP and TLS) registered as trusted endpoints: `200 trusted-http|tls`,
 *   plus `/redirect?status=&to=` to test redirects.
 * - A declared egress proxy (the `proxy` package, a real HTTP/CONNECT forward proxy).
 *
 * Every response carries `x-served-by` naming who answered: the suite checks each stored row
 * against it (a row may only name the URL and peer of the server that produced its bytes).
 */
import { execFileSync } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProxy } from 'proxy';

export interface Counter {
  connections: number;
  bytes: number;
  /** Request lines seen (method + target), for attributing bytes to a phase of an attempt. */
  requests: string[];
}

function newCounter(): Counter {
  return { connections: 0, bytes: 0, requests: [] };
}

interface Cert {
  key: string;
  cert: string;
}

/** A self-signed certificate for 127.0.0.1 / localhost with the given common name. */
export function makeCertificate(cn: string): Cert {
  const dir = mkdtempSync(join(tmpdir(), 'provably-adv-cert-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        `/CN=${cn}`,
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Counts raw TCP connections (before TLS) and every byte read from them. */
function count(server: http.Server | https.Server, counter: Counter, sockets: Set<Socket>): void {
  server.on('connection', (socket: Socket) => {
    // A tunnelled socket handed back in by the CONNECT handler is already counted.
    if ((socket as Socket & { advTunnel?: boolean }).advTunnel) return;
    counter.connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      counter.bytes += socket.bytesRead;
      sockets.delete(socket);
    });
  });
}

function answer(name: string): Handler {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = `${name}`;
      res.writeHead(200, {
        'content-type': 'text/plain',
        'x-served-by': name,
        'content-length': body.length,
      });
      res.end(body);
    });
    req.on('error', () => {});
  };
}

async function listen(server: http.Server | https.Server, where: number | string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (typeof where === 'string') server.listen(where, () => resolve());
    else server.listen(where, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

function closer(server: http.Server | https.Server, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

export type Need = 'http' | 'tls' | 'unix' | 'udp';

/** One attempt's untrusted targets; what the child process is told about them. */
export interface TargetInfo {
  id: string;
  http?: number;
  tls?: number;
  unix?: string;
  udp?: number;
}

export interface UntrustedTargets {
  info: TargetInfo;
  /** Everything each kind of target saw. */
  counters: Partial<Record<Need, Counter>>;
  /** Resolves when every socket these servers accepted has closed (or after `ms`). */
  drained(ms?: number): Promise<void>;
  close(): Promise<void>;
}

let untrustedCert: Cert | undefined;

export async function startUntrusted(id: string, needs: Need[], unixDir: string): Promise<UntrustedTargets> {
  const name = `untrusted:${id}`;
  const info: TargetInfo = { id };
  const counters: Partial<Record<Need, Counter>> = {};
  const sockets = new Set<Socket>();
  const closers: Array<() => Promise<void>> = [];
  let tlsServer: https.Server | undefined;

  if (needs.includes('tls')) {
    untrustedCert ??= makeCertificate('untrusted.invalid');
    const counter = newCounter();
    counters.tls = counter;
    tlsServer = https.createServer({ ...untrustedCert }, answer(name));
    count(tlsServer, counter, sockets);
    tlsServer.on('request', (req) => counter.requests.push(`${req.method} ${req.url}`));
    info.tls = await listen(tlsServer, 0);
    closers.push(closer(tlsServer, sockets));
  }
  if (needs.includes('http')) {
    const counter = newCounter();
    counters.http = counter;
    const server = http.createServer(answer(name));
    count(server, counter, sockets);
    server.on('request', (req) => counter.requests.push(`${req.method} ${req.url}`));
    // A forging forward proxy: accept any CONNECT, then serve the tunnel ourselves.
    server.on('connect', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
      counter.requests.push(`CONNECT ${req.url}`);
      socket.on('error', () => {});
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n', () => {
        if (head.length > 0) socket.unshift(head);
        (socket as Socket & { advTunnel?: boolean }).advTunnel = true;
        const first = socket.read(1) as Buffer | null;
        if (first) socket.unshift(first);
        // TLS ClientHello starts with 0x16: hand it to the untrusted TLS server when there is one.
        const serve = (b: Buffer | null) => {
          if (b && b[0] === 0x16 && tlsServer) tlsServer.emit('connection', socket);
          else server.emit('connection', socket);
        };
        if (first) serve(first);
        else
          socket.once('readable', () => {
            const b = socket.read(1) as Buffer | null;
            if (b) socket.unshift(b);
            serve(b);
          });
      });
    });
    info.http = await listen(server, 0);
    closers.push(closer(server, sockets));
  }
  if (needs.includes('unix')) {
    const counter = newCounter();
    counters.unix = counter;
    const server = http.createServer(answer(name));
    count(server, counter, sockets);
    server.on('request', (req) => counter.requests.push(`${req.method} ${req.url}`));
    info.unix = join(unixDir, `${id.replace(/[^a-z0-9]/gi, '_')}.sock`);
    await listen(server, info.unix);
    closers.push(closer(server, sockets));
  }
  if (needs.includes('udp')) {
    const counter = newCounter();
    counters.udp = counter;
    const socket: UdpSocket = createSocket('udp4');
    socket.on('message', (msg) => {
      counter.connections++; // datagrams, for UDP
      counter.bytes += msg.length;
    });
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    info.udp = socket.address().port;
    closers.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  }

  return {
    info,
    counters,
    async drained(ms = 2_000) {
      const until = Date.now() + ms;
      while (sockets.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    },
    async close() {
      await Promise.all(closers.map((c) => c()));
    },
  };
}

export interface TrustedServer {
  name: string;
  url: string;
  port: number;
  counter: Counter;
  ca?: string;
  close(): Promise<void>;
}

/** A trusted server: answers `200 <name>`, and `/redirect?status=&to=` with that redirect. */
export async function startTrusted(tls: boolean): Promise<TrustedServer> {
  const name = tls ? 'trusted-tls' : 'trusted-http';
  const counter = newCounter();
  const sockets = new Set<Socket>();
  const plain = answer(name);
  const handler: Handler = (req, res) => {
    counter.requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/redirect') {
      req.resume();
      res.writeHead(Number(url.searchParams.get('status') ?? '302'), {
        location: url.searchParams.get('to') ?? '/',
        'x-served-by': name,
        'content-length': '0',
      });
      res.end();
      return;
    }
    plain(req, res);
  };
  const cert = tls ? makeCertificate('trusted.test') : undefined;
  const server = cert ? https.createServer({ ...cert }, handler) : http.createServer(handler);
  count(server, counter, sockets);
  const port = await listen(server, 0);
  return {
    name,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    counter,
    ca: cert?.cert,
    close: closer(server, sockets),
  };
}

export interface DeclaredProxy {
  url: string;
  counter: Counter;
  close(): Promise<void>;
}

/** A real forward proxy (HTTP absolute-form and CONNECT): the one a deployment declares. */
export async function startDeclaredProxy(): Promise<DeclaredProxy> {
  const counter = newCounter();
  const sockets = new Set<Socket>();
  const server = createProxy(http.createServer());
  count(server, counter, sockets);
  server.on('request', (req) => counter.requests.push(`${req.method} ${req.url}`));
  server.on('connect', (req) => counter.requests.push(`CONNECT ${req.url}`));
  const port = await listen(server, 0);
  return { url: `http://127.0.0.1:${port}`, counter, close: closer(server, sockets) };
}

/**
 * A real HTTP or HTTPS server on 127.0.0.1 for transport tests. It counts what actually reaches
 * it — TCP connections accepted, bytes received on them (raw TCP bytes, so a TLS ClientHello
 * counts too) and HTTP requests parsed — so a test can prove that a refused call never touched
 * the network.
 *
 *   const server = await startCountingServer();            // http://127.0.0.1:<port>
 *   const tls = await startCountingServer({ tls: true });  // https, self-signed, see `ca`
 *   server.connections / server.bytesReceived / server.requests / server.log
 *   await server.settle();   // see below
 *   await server.close();
 *
 * `settle()` makes "nothing arrived" assertions deterministic instead of timing-based: it opens a
 * probe connection (not counted) and waits until the server has accepted it — the kernel hands
 * out pending connections in order, so every connection a client started before is accepted by
 * then — and then waits until every connection accepted before the probe has closed, so their
 * bytes are all counted. Close the client's sockets first (dispatcher.close(), agent.destroy()),
 * or settle() waits for them.
 *
 * HTTPS uses a throwaway self-signed certificate (EC P-256, CN and SAN 127.0.0.1/localhost)
 * generated once per process with the `openssl` CLI into a temporary directory; clients must be
 * given `server.ca` (node:https `ca`, undici `connect: { ca }`).
 *
 * Routes (any method):
 *   /json                 small JSON document (+ a duplicated `set-cookie` header)
 *   /echo                 JSON {method, path, headers, body} of the request
 *   /big?bytes=N          N bytes, byte i = i % 251, content-length set
 *   /gzip, /br            a JSON document compressed with gzip / brotli (content-encoding set)
 *   /redirect?to=URL&status=302   redirect to URL
 *   /status?code=N        empty response with status N
 *   /sse?events=N         text/event-stream; event 1 at once, each further event only after the
 *                         test calls `sseTick()`; every send is logged in `events`
 *   /partial?bytes=N&of=M content-length M, sends N bytes, then closes the connection
 *   /hang                 headers + one chunk "first", then waits until the client goes away
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';

export interface LoggedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

export interface CountingServer {
  /** Base URL without trailing slash, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly port: number;
  /** PEM certificate to trust (HTTPS servers only). */
  readonly ca: string | undefined;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Raw bytes received on all connections so far (open and closed). */
  readonly bytesReceived: number;
  /** HTTP requests parsed so far. */
  readonly requests: number;
  readonly log: readonly LoggedRequest[];
  /** Ordered log of SSE sends ('sse:sent:1', 'sse:end', …); tests may push their own entries. */
  readonly events: string[];
  /** Lets the oldest waiting SSE stream send its next event. */
  sseTick(): void;
  /** Waits until every connection started before this call was accepted and has closed. */
  settle(): Promise<void>;
  /** Closes every connection and the listener. */
  close(): Promise<void>;
}

export const JSON_BODY = { hello: 'world', list: [1, 2, 3] };
const JSON_BYTES = Buffer.from(JSON.stringify(JSON_BODY));
/** Exactly the bytes /gzip and /br put on the wire (zlib output is deterministic). */
export const GZIP_BYTES = gzipSync(JSON_BYTES);
export const BR_BYTES = brotliCompressSync(JSON_BYTES);

export function bigBody(bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) out[i] = i % 251;
  return out;
}

let certificate: { key: string; cert: string } | undefined;

/** A self-signed certificate for 127.0.0.1, made once per process with openssl. */
export function selfSignedCertificate(): { key: string; cert: string } {
  if (certificate) return certificate;
  const dir = mkdtempSync(join(tmpdir(), 'provably-cert-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    certificate = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
    return certificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface CountingServerOptions {
  tls?: boolean;
  /**
   * How long idle keep-alive sockets stay open (Node's default: 5 s). The high-volume e2e tests
   * raise it: with thousands of calls on a 2-core machine the client's event loop can stall for
   * seconds, and a server closing an idle socket just as the stalled client reuses it fails that
   * request (ECONNRESET) — a keep-alive race that has nothing to do with what they check.
   */
  keepAliveMs?: number;
}

export async function startCountingServer(options: CountingServerOptions = {}): Promise<CountingServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let closedBytes = 0;
  let requests = 0;
  const log: LoggedRequest[] = [];
  const events: string[] = [];
  const sseWaiters: Array<() => void> = [];
  let sseCredits = 0;
  /** Local ports of settle() probes → resolve when the server accepted that probe. */
  const probes = new Map<number, () => void>();

  const nextSseTick = (): Promise<void> => {
    if (sseCredits > 0) {
      sseCredits--;
      return Promise.resolve();
    }
    return new Promise((resolve) => sseWaiters.push(resolve));
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    requests++;
    const url = new URL(req.url ?? '/', 'http://x');
    log.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      route(url, req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        res.destroy(err instanceof Error ? err : new Error(String(err)));
      });
    });
  };

  const route = async (url: URL, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    switch (url.pathname) {
      case '/json': {
        const payload = Buffer.from(JSON.stringify(JSON_BODY));
        res.writeHead(200, [
          ['content-type', 'application/json'],
          ['content-length', String(payload.length)],
          ['x-test', 'yes'],
          ['set-cookie', 'a=1'],
          ['set-cookie', 'b=2'],
        ]);
        res.end(payload);
        return;
      }
      case '/echo': {
        const payload = JSON.stringify({
          method: req.method,
          path: req.url,
          headers: req.headers,
          body: body.toString('utf8'),
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(payload);
        return;
      }
      case '/big': {
        const payload = bigBody(Number(url.searchParams.get('bytes') ?? '1048576'));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': payload.length });
        res.end(payload);
        return;
      }
      case '/gzip':
      case '/br': {
        const gz = url.pathname === '/gzip';
        const payload = gz ? GZIP_BYTES : BR_BYTES;
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-encoding': gz ? 'gzip' : 'br',
          'content-length': payload.length,
        });
        res.end(payload);
        return;
      }
      case '/redirect': {
        res.writeHead(Number(url.searchParams.get('status') ?? '302'), {
          location: url.searchParams.get('to') ?? '/json',
          'content-length': '0',
        });
        res.end();
        return;
      }
      case '/status': {
        res.writeHead(Number(url.searchParams.get('code') ?? '204'));
        res.end();
        return;
      }
      case '/sse': {
        const count = Number(url.searchParams.get('events') ?? '2');
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        for (let i = 1; i <= count; i++) {
          if (i > 1) await nextSseTick();
          res.write(`data: ${i}\n\n`);
          events.push(`sse:sent:${i}`);
        }
        events.push('sse:end');
        res.end();
        return;
      }
      case '/partial': {
        const sent = Number(url.searchParams.get('bytes') ?? '100');
        const total = Number(url.searchParams.get('of') ?? '1000');
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
        res.write(bigBody(sent), () => {
          // Closes after the partial body is flushed: the client sees the bytes, then EOF.
          res.socket?.destroy();
        });
        return;
      }
      case '/hang': {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first');
        await new Promise<void>((resolve) => res.on('close', resolve));
        return;
      }
      default: {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      }
    }
  };

  let ca: string | undefined;
  let server: http.Server | https.Server;
  if (options.tls) {
    const { key, cert } = selfSignedCertificate();
    ca = cert;
    server = https.createServer({ key, cert }, handler);
  } else {
    server = http.createServer(handler);
  }
  if (options.keepAliveMs !== undefined) {
    server.keepAliveTimeout = options.keepAliveMs;
    server.headersTimeout = options.keepAliveMs + 10_000;
  }
  // 'connection' is the raw TCP socket for both (before TLS), so counts include TLS handshakes.
  server.on('connection', (socket: Socket) => {
    socket.on('error', () => {});
    const probe = probes.get(socket.remotePort ?? -1);
    if (probe) {
      probes.delete(socket.remotePort ?? -1);
      probe();
      return;
    }
    connections++;
    sockets.add(socket);
    socket.on('close', () => {
      closedBytes += socket.bytesRead;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  const port = address.port;

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    ca,
    get connections() {
      return connections;
    },
    get bytesReceived() {
      let open = 0;
      for (const s of sockets) open += s.bytesRead;
      return closedBytes + open;
    },
    get requests() {
      return requests;
    },
    log,
    events,
    sseTick() {
      const next = sseWaiters.shift();
      if (next) next();
      else sseCredits++;
    },
    async settle() {
      const probe = net.connect(port, '127.0.0.1');
      probe.on('error', () => {});
      await once(probe, 'connect');
      const localPort = probe.localPort ?? -1;
      // The server may have accepted it already (then un-count it) or may do so later.
      const seen = [...sockets].find((s) => s.remotePort === localPort);
      if (seen) {
        sockets.delete(seen);
        seen.removeAllListeners('close');
        connections--;
      } else {
        await new Promise<void>((resolve) => probes.set(localPort, resolve));
      }
      probe.destroy();
      const earlier = [...sockets];
      await Promise.all(earlier.map((s) => (s.closed ? undefined : once(s, 'close'))));
    },
    close() {
      return new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
    },
  };
}

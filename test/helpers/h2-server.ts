/**
 * A real HTTP/2 server on 127.0.0.1 (TLS with the self-signed test certificate, or cleartext h2c)
 * that counts what reaches it: TCP connections and raw bytes (a TLS ClientHello counts), HTTP/2
 * sessions and streams (a stream exists only once its HEADERS frame arrived).
 *
 *   const server = await startH2Server({ tls: true });   // server.origin = https://127.0.0.1:<port>
 *   server.connections / bytesReceived / sessions / streams / paths
 *   await server.settle();   // every connection started before has been accepted and counted
 *
 * Routes: /json (JSON_BODY), /big?bytes=N (bigBody(N)), anything else: 200 "ok <path>".
 * `handle` may be replaced by a test (gRPC servers use their own server instead).
 */
import { once } from 'node:events';
import http2, { type Http2SecureServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import net, { type Socket } from 'node:net';
import { bigBody, JSON_BODY, selfSignedCertificate } from './counting-server.js';

export interface H2Server {
  readonly origin: string;
  readonly port: number;
  readonly ca: string | undefined;
  readonly connections: number;
  readonly bytesReceived: number;
  readonly sessions: number;
  readonly streams: number;
  readonly paths: readonly string[];
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function startH2Server(options: { tls?: boolean } = {}): Promise<H2Server> {
  const cert = options.tls ? selfSignedCertificate() : undefined;
  const server: Http2Server | Http2SecureServer = cert
    ? http2.createSecureServer({ key: cert.key, cert: cert.cert })
    : http2.createServer();
  let connections = 0;
  let bytesReceived = 0;
  let sessions = 0;
  let streams = 0;
  const paths: string[] = [];
  const sockets = new Set<Socket>();
  const byPort = new Map<number, Socket>();
  const probeWaiters = new Map<number, () => void>();
  const unprobe = (socket: Socket) => {
    // The settle() probe: not a client connection.
    connections--;
    sockets.delete(socket);
    bytesReceived -= socket.bytesRead;
    socket.destroy();
  };
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    const remotePort = socket.remotePort ?? -1;
    byPort.set(remotePort, socket);
    socket.on('data', (d: Buffer) => {
      bytesReceived += d.length;
    });
    socket.on('close', () => {
      sockets.delete(socket);
      if (byPort.get(remotePort) === socket) byPort.delete(remotePort);
    });
    const waiter = probeWaiters.get(remotePort);
    if (waiter !== undefined) {
      probeWaiters.delete(remotePort);
      unprobe(socket);
      waiter();
    }
  });
  server.on('session', () => {
    sessions++;
  });
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    streams++;
    const path = String(headers[':path']);
    paths.push(path);
    stream.on('error', () => {});
    const url = new URL(path, 'http://x');
    if (url.pathname === '/json') {
      stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-test': 'h2' });
      stream.end(JSON.stringify(JSON_BODY));
    } else if (url.pathname === '/big') {
      stream.respond({ ':status': 200 });
      stream.end(bigBody(Number(url.searchParams.get('bytes') ?? '0')));
    } else {
      stream.respond({ ':status': 200 });
      stream.end(`ok ${path}`);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    origin: `${cert ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    ca: cert?.cert,
    get connections() {
      return connections;
    },
    get bytesReceived() {
      return bytesReceived;
    },
    get sessions() {
      return sessions;
    },
    get streams() {
      return streams;
    },
    paths,
    async settle() {
      // A probe connection (not counted): once it is accepted, every earlier connection was too
      // (the kernel hands them out in order); then wait for the earlier ones to close.
      const probe = net.connect(port, '127.0.0.1');
      await once(probe, 'connect');
      const local = probe.localPort ?? -1;
      const accepted = byPort.get(local);
      if (accepted !== undefined) unprobe(accepted);
      else await new Promise<void>((resolve) => probeWaiters.set(local, resolve));
      probe.destroy();
      while (sockets.size > 0) await once([...sockets][0] as Socket, 'close');
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

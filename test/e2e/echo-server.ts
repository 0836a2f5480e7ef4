/**
 * A minimal echo server for the high-volume e2e tests: answers every request with JSON
 * {method, path, headers, body} and counts requests.
 *
 * Idle keep-alive sockets are kept for 2 minutes (Node's default is 5 s): with thousands of
 * calls on a 2-core machine the agent's event loop can stall for seconds, and a server closing
 * an idle socket just as the stalled client reuses it fails that request ("other side closed",
 * ECONNRESET) — an HTTP keep-alive race that has nothing to do with what these tests check.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface EchoServer {
  readonly url: string;
  readonly requests: number;
  close(): Promise<void>;
}

export async function startEchoServer(): Promise<EchoServer> {
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const payload = JSON.stringify({
        method: req.method,
        path: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      });
      res.end(payload);
    });
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

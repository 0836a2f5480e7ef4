// Below HTTP: raw TCP/TLS sockets, HTTP/2 (node:http2 and gRPC), UDP and DNS to an untrusted
// server. Any connection, datagram or byte reaching it from inside a scope is a failure.
import dgram from 'node:dgram';
import dns from 'node:dns';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { withTimeout } from '../kit/child-lib.mjs';

/** Settles when the socket connects and has written `bytes` (the attack succeeded) or fails. */
function connected(socket, bytes = 'hello') {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(bytes, () => {
        socket.destroy();
        resolve({ status: 0, body: 'connected' });
      });
    });
    socket.once('secureConnect', () => {});
  });
}

function tlsConnected(socket) {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve({ status: 0, body: 'tls connected' });
    });
  });
}

function h2get(session, path, extra = {}) {
  return new Promise((resolve, reject) => {
    session.on('error', reject);
    const req = session.request({ ':path': path, ...extra });
    let status = 0;
    let body = '';
    req.on('response', (h) => (status = h[':status']));
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      session.close();
      resolve({ status, body });
    });
    req.on('error', (e) => {
      session.destroy();
      reject(e);
    });
    req.end();
  });
}

function sendUdp(socket, port, message = 'ping') {
  return new Promise((resolve, reject) => {
    socket.send(message, port, '127.0.0.1', (err) => {
      socket.close();
      if (err) reject(err);
      else resolve({ status: 0, body: 'sent' });
    });
  });
}

const tcp = [
  ['net-connect-port-host', 'net.connect(port, host)', (c) => connected(net.connect(c.T.http, '127.0.0.1'))],
  [
    'net-connect-options',
    'net.connect({ port, host })',
    (c) => connected(net.connect({ port: c.T.http, host: '127.0.0.1' })),
  ],
  [
    'net-createconnection',
    'net.createConnection({ port })',
    (c) => connected(net.createConnection({ port: c.T.http, host: '127.0.0.1' })),
  ],
  [
    'net-socket-connect',
    'new net.Socket().connect(port, host)',
    (c) => connected(new net.Socket().connect(c.T.http, '127.0.0.1')),
  ],
  [
    'net-connect-localhost',
    "net.connect(port, 'localhost')",
    (c) => connected(net.connect({ port: c.T.http, host: 'localhost', autoSelectFamily: true })),
  ],
  ['net-connect-no-host', 'net.connect(port) — default host', (c) => connected(net.connect(c.T.http))],
  [
    'net-connect-ipv4-mapped',
    'net.connect({ host: ::ffff:127.0.0.1 })',
    (c) => connected(net.connect({ port: c.T.http, host: '::ffff:127.0.0.1' })),
  ],
  ['net-connect-unix', 'net.connect(unix path)', (c) => connected(net.connect(c.T.unix)), ['unix']],
  [
    'net-connect-unix-options',
    'net.connect({ path: unix })',
    (c) => connected(net.connect({ path: c.T.unix })),
    ['unix'],
  ],
  [
    'net-blocklist-bypass-lookup',
    'net.connect with a custom lookup returning 127.0.0.1 for a made-up name',
    (c) =>
      connected(
        net.connect({
          port: c.T.http,
          host: 'innocent.example',
          lookup: (_h, o, cb) =>
            o?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4),
        }),
      ),
  ],
  [
    'tls-connect',
    'tls.connect(untrusted TLS)',
    (c) => tlsConnected(tls.connect({ port: c.T.tls, host: '127.0.0.1', rejectUnauthorized: false })),
    ['tls'],
  ],
  [
    'tls-connect-servername-trusted',
    'tls.connect(untrusted TLS, { servername: a trusted name })',
    (c) =>
      tlsConnected(
        tls.connect({
          port: c.T.tls,
          host: '127.0.0.1',
          servername: 'trusted.test',
          rejectUnauthorized: false,
        }),
      ),
    ['tls'],
  ],
  [
    'tls-connect-over-socket',
    'tls.connect({ socket: an already-connected net socket to the untrusted TLS port })',
    (c) => {
      const raw = net.connect(c.T.tls, '127.0.0.1');
      return tlsConnected(tls.connect({ socket: raw, rejectUnauthorized: false }));
    },
    ['tls'],
  ],
];

const h2 = [
  [
    'http2-connect-h2c',
    'http2.connect(http://untrusted) + GET (prior-knowledge h2c)',
    (c) => h2get(http2.connect(c.T.url), '/h2'),
  ],
  [
    'http2-connect-tls',
    'http2.connect(https://untrusted) + GET',
    (c) => h2get(http2.connect(c.T.tlsUrl, { rejectUnauthorized: false }), '/h2'),
    ['tls'],
  ],
  [
    'http2-authority-trusted',
    'http2.connect(untrusted) with :authority claiming the trusted origin',
    (c) => h2get(http2.connect(c.T.url), '/h2', { ':authority': new URL(c.TR).host }),
  ],
  [
    'http2-createconnection',
    'http2.connect(trusted, { createConnection: → untrusted socket })',
    (c) => h2get(http2.connect(c.TR, { createConnection: () => net.connect(c.T.http, '127.0.0.1') }), '/h2'),
  ],
  [
    'grpc-js-insecure',
    '@grpc/grpc-js client (insecure) calling a method on the untrusted server',
    async (c) => {
      const grpc = await import('@grpc/grpc-js');
      const client = new grpc.Client(`127.0.0.1:${c.T.http}`, grpc.credentials.createInsecure());
      try {
        return await new Promise((resolve, reject) => {
          client.makeUnaryRequest(
            '/adv.Service/Call',
            (b) => b,
            (b) => b,
            Buffer.from('x'),
            { deadline: Date.now() + 3_000 },
            (err, res) => (err ? reject(err) : resolve({ status: 0, body: String(res) })),
          );
        });
      } finally {
        client.close();
      }
    },
  ],
];

const udp = [
  [
    'dgram-send-udp4',
    'dgram udp4 send to the untrusted UDP port',
    (c) => sendUdp(dgram.createSocket('udp4'), c.T.udp),
  ],
  [
    'dgram-connect-send',
    'dgram connect() then send()',
    (c) =>
      new Promise((resolve, reject) => {
        const s = dgram.createSocket('udp4');
        s.connect(c.T.udp, '127.0.0.1', (err) => {
          if (err) return reject(err);
          s.send('ping', (e) => {
            s.close();
            if (e) reject(e);
            else resolve({ status: 0, body: 'sent' });
          });
        });
        s.on('error', reject);
      }),
  ],
  [
    'dgram-send-udp6-mapped',
    'dgram udp6 send to ::ffff:127.0.0.1',
    (c) =>
      new Promise((resolve, reject) => {
        const s = dgram.createSocket('udp6');
        s.send('ping', c.T.udp, '::ffff:127.0.0.1', (err) => {
          s.close();
          if (err) reject(err);
          else resolve({ status: 0, body: 'sent' });
        });
      }),
  ],
  [
    'dns-resolver-custom-server',
    'new dns.Resolver() pointed at the untrusted UDP port, resolve4()',
    (c) => {
      const r = new dns.Resolver({ timeout: 300, tries: 1 });
      r.setServers([`127.0.0.1:${c.T.udp}`]);
      return new Promise((resolve, reject) =>
        r.resolve4('exfil.example', (err, a) =>
          err ? reject(err) : resolve({ status: 0, body: String(a) }),
        ),
      );
    },
  ],
  [
    'dns-promises-resolver-custom-server',
    'new dns.promises.Resolver() pointed at the untrusted UDP port',
    async (c) => {
      const r = new dns.promises.Resolver({ timeout: 300, tries: 1 });
      r.setServers([`127.0.0.1:${c.T.udp}`]);
      return { status: 0, body: String(await r.resolveTxt('exfil.example')) };
    },
  ],
  [
    'dns-setservers-global',
    'dns.setServers([untrusted]) then dns.resolve4 (restored after)',
    async (c) => {
      const before = dns.getServers();
      dns.setServers([`127.0.0.1:${c.T.udp}`]);
      try {
        // The global resolver retries for many seconds: give up early (still a failure if sent).
        return await withTimeout(
          new Promise((resolve, reject) =>
            dns.resolve4('exfil.example', (err, a) =>
              err ? reject(err) : resolve({ status: 0, body: String(a) }),
            ),
          ),
          1_500,
          'dns.resolve4',
        );
      } finally {
        dns.setServers(before);
      }
    },
  ],
];

export default [
  ...tcp.map(([id, description, run, needs]) => ({
    id,
    class: 'raw-tcp-tls',
    description,
    run,
    needs: needs ?? ['http'],
  })),
  ...h2.map(([id, description, run, needs]) => ({
    id,
    class: 'http2-grpc',
    description,
    run,
    needs: needs ?? ['http'],
  })),
  ...udp.map(([id, description, run]) => ({ id, class: 'udp-dns', description, run, needs: ['udp'] })),
];

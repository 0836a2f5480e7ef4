// A small local fake API for the demo: a CRM with customers, plus a second server standing in for
// an endpoint nobody registered (where a compromised tool might try to send data). Both count the
// TCP connections and requests they receive, so the demo can show that a blocked call never
// reached the network.
import { createServer } from 'node:http';

const CUSTOMERS = {
  42: { id: 42, name: 'Ada Lovelace', tier: 'gold', balance: 1250.5, open_tickets: 2 },
  7: { id: 7, name: 'Alan Turing', tier: 'silver', balance: 310, open_tickets: 0 },
};

function countingServer(handler) {
  const stats = { connections: 0, requests: 0, paths: [] };
  const server = createServer((req, res) => {
    stats.requests++;
    stats.paths.push(`${req.method} ${req.url}`);
    handler(req, res, stats);
  });
  server.on('connection', () => stats.connections++);
  return { server, stats };
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

export async function startFakeCrm() {
  const crm = countingServer((req, res, stats) => {
    const match = /^\/customers\/(\d+)$/.exec(req.url ?? '');
    if (req.method === 'POST' && req.url === '/payments') {
      // The payments tool of the gateway demo: accepts any payment it is sent.
      stats.payments = (stats.payments ?? 0) + 1;
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: `pay_${stats.payments}`, status: 'accepted' }));
    } else if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    } else if (match && CUSTOMERS[match[1]]) {
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'session=secret' });
      res.end(JSON.stringify(CUSTOMERS[match[1]]));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    }
  });
  const exfil = countingServer((_req, res) => res.writeHead(204).end());
  const crmPort = await listen(crm.server);
  const exfilPort = await listen(exfil.server);
  return {
    crmUrl: `http://127.0.0.1:${crmPort}`,
    exfilUrl: `http://127.0.0.1:${exfilPort}`,
    crm: crm.stats,
    exfil: exfil.stats,
    close: () =>
      Promise.all(
        [crm.server, exfil.server].map((s) => {
          s.closeAllConnections();
          return new Promise((r) => s.close(r));
        }),
      ),
  };
}

/**
 * node:dns inside a scope: resolvers pointed at servers other than the system's are refused unless
 * listed in PROVABLY_ALLOW_DNS_SERVERS — against a real UDP "DNS" server on 127.0.0.1 that counts
 * the queries reaching it (and answers NXDOMAIN, so allowed queries end quickly with ENOTFOUND).
 */
import dns from 'node:dns';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { ProvablyBlockedError, ProvablyConfigError } from '../../src/errors/index.js';
import { installInterception } from '../../src/intercept/index.js';
import type { InterceptionHandle } from '../../src/intercept/types.js';
import { startUdpServer, type UdpServer } from '../helpers/udp-server.js';
import { inScope, MemoryRecorder, ORG, resolveScope, SetGate } from './kit.js';

let server: UdpServer;
let handle: InterceptionHandle;
let systemServers: string[];

function resolver(): dns.Resolver {
  const r = new dns.Resolver({ timeout: 2000, tries: 1 });
  r.setServers([`127.0.0.1:${server.port}`]);
  return r;
}

function resolve4(r: { resolve4: dns.Resolver['resolve4'] }): Promise<unknown> {
  return new Promise((resolve) => r.resolve4('example.test', (err) => resolve(err)));
}

beforeAll(async () => {
  server = await startUdpServer({ dns: true });
  systemServers = dns.getServers();
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
  delete process.env.PROVABLY_ALLOW_DNS_SERVERS;
  dns.setServers(systemServers);
  server.datagrams.length = 0;
});

describe('inside a scope', () => {
  it('a dns.Resolver set to an unlisted server: ProvablyBlockedError, 0 queries', async () => {
    const r = resolver();
    const err = await inScope(() => resolve4(r));
    expect(err).toBeInstanceOf(ProvablyBlockedError);
    expect((err as ProvablyBlockedError).url).toBe(`dns://127.0.0.1:${server.port}/`);
    // The same resolver outside the scope reaches the server: the counter works.
    expect((await resolve4(r)) as { code?: string }).toMatchObject({ code: 'ENOTFOUND' });
    expect(server.datagrams).toHaveLength(1);
  });

  it('dns.promises.Resolver and every query method are refused', async () => {
    const r = new dns.promises.Resolver({ timeout: 2000, tries: 1 });
    r.setServers([`127.0.0.1:${server.port}`]);
    const calls: Array<() => Promise<unknown>> = [
      () => r.resolve4('a.test'),
      () => r.resolve6('a.test'),
      () => r.resolve('a.test', 'TXT'),
      () => r.resolveMx('a.test'),
      () => r.resolveTxt('a.test'),
      () => r.resolveSrv('a.test'),
      () => r.reverse('127.0.0.1'),
      () => r.resolveAny('a.test'),
    ];
    for (const call of calls) {
      await expect(inScope(call)).rejects.toBeInstanceOf(ProvablyBlockedError);
    }
    expect(server.datagrams).toHaveLength(0);
  });

  it('the global dns.setServers: dns.resolve* and dns.promises.resolve* are refused', async () => {
    dns.setServers([`127.0.0.1:${server.port}`]);
    expect(await inScope(() => resolve4(dns))).toBeInstanceOf(ProvablyBlockedError);
    await expect(inScope(() => dns.promises.resolve4('a.test'))).rejects.toBeInstanceOf(ProvablyBlockedError);
    await expect(inScope(() => dns.promises.resolveTxt('a.test'))).rejects.toBeInstanceOf(
      ProvablyBlockedError,
    );
    expect(server.datagrams).toHaveLength(0);
  });

  it('a listed server is queried', async () => {
    process.env.PROVABLY_ALLOW_DNS_SERVERS = `127.0.0.1:${server.port}`;
    const err = await inScope(() => resolve4(resolver()));
    expect((err as { code?: string }).code).toBe('ENOTFOUND');
    expect(server.datagrams).toHaveLength(1);
  });

  it('one unlisted server among listed ones refuses the query', async () => {
    process.env.PROVABLY_ALLOW_DNS_SERVERS = `127.0.0.1:${server.port}`;
    const r = new dns.Resolver({ timeout: 2000, tries: 1 });
    r.setServers([`127.0.0.1:${server.port}`, '127.0.0.2:53']);
    const err = await inScope(() => resolve4(r));
    expect((err as ProvablyBlockedError).url).toBe('dns://127.0.0.2:53/');
    expect(server.datagrams).toHaveLength(0);
  });

  it('dns.lookup (the system resolver) is not touched', async () => {
    const address = await inScope(() => dns.promises.lookup('localhost', { family: 4 }));
    expect(address.address).toBe('127.0.0.1');
  });

  it('an unusable PROVABLY_ALLOW_DNS_SERVERS fails the query with ProvablyConfigError', async () => {
    process.env.PROVABLY_ALLOW_DNS_SERVERS = 'dns.example:53';
    const err = await inScope(() => resolve4(resolver()));
    expect(err).toBeInstanceOf(ProvablyConfigError);
    expect(server.datagrams).toHaveLength(0);
  });
});

describe('outside a scope', () => {
  it('custom servers are queried as usual', async () => {
    dns.setServers([`127.0.0.1:${server.port}`]);
    await expect(dns.promises.resolve4('a.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(server.datagrams).toHaveLength(1);
  });
});

// PROVABLY_EGRESS_PROXIES / PROVABLY_ALLOW_UNIX_SOCKETS (and the same in code): valid values are
// canonicalised, anything else is a ProvablyConfigError naming the setting and the value.
import { describe, expect, it } from 'vitest';
import { readEgressConfig } from '../../src/config/egress.js';
import { ProvablyConfigError } from '../../src/errors/index.js';
import { installInterception } from '../../src/intercept/index.js';
import { MemoryRecorder, ORG, resolveScope, SetGate } from '../intercept/kit.js';

describe('egress configuration', () => {
  it('reads proxies (explicit port, lower-case host, IPv6) and unix socket paths', () => {
    const config = readEgressConfig({
      PROVABLY_EGRESS_PROXIES: ' http://Proxy.Internal:3128 , https://[::1], http://127.0.0.1 ',
      PROVABLY_ALLOW_UNIX_SOCKETS: '/var/run//docker.sock,/tmp/a.sock',
    });
    expect(config.proxies).toEqual([
      { origin: 'http://proxy.internal:3128', host: 'proxy.internal', port: 3128 },
      { origin: 'https://[::1]:443', host: '::1', port: 443 },
      { origin: 'http://127.0.0.1:80', host: '127.0.0.1', port: 80 },
    ]);
    expect(config.unixSockets).toEqual(['/var/run/docker.sock', '/tmp/a.sock']);
    expect(readEgressConfig({})).toEqual({ proxies: [], unixSockets: [] });
  });

  for (const [variable, value, reason] of [
    ['PROVABLY_EGRESS_PROXIES', 'proxy.internal:3128', 'scheme'],
    ['PROVABLY_EGRESS_PROXIES', 'not a url', 'is not a URL'],
    ['PROVABLY_EGRESS_PROXIES', 'socks5://127.0.0.1:1080', 'scheme socks5: is not supported'],
    ['PROVABLY_EGRESS_PROXIES', 'http://user:pw@proxy:3128', 'credentials'],
    ['PROVABLY_EGRESS_PROXIES', 'http://proxy:3128/path', 'no path'],
    ['PROVABLY_ALLOW_UNIX_SOCKETS', 'relative.sock', 'absolute'],
  ] as const) {
    it(`${variable}=${value}: ProvablyConfigError (${reason})`, () => {
      let error: unknown;
      try {
        readEgressConfig({ [variable]: value });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ProvablyConfigError);
      expect((error as ProvablyConfigError).setting).toBe(variable);
      expect((error as Error).message).toContain(reason);
    });
  }

  it('installInterception refuses an invalid egress option before installing anything', () => {
    expect(() =>
      installInterception({
        gate: new SetGate(),
        recorder: new MemoryRecorder(),
        resolveScope,
        orgId: () => ORG,
        egress: { proxies: ['ftp://proxy:21'] },
      }),
    ).toThrow(ProvablyConfigError);
  });
});

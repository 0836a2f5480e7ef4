import { describe, expect, it } from 'vitest';
import { allows, readDnsServerAllowlist, readUdpAllowlist } from '../../src/config/network.js';
import { ProvablyConfigError } from '../../src/errors/index.js';

describe('PROVABLY_ALLOW_UDP', () => {
  it('parses host:port lists (IPv4, names, bracketed IPv6), spaces and empty entries ignored', () => {
    const list = readUdpAllowlist({ PROVABLY_ALLOW_UDP: ' 127.0.0.1:8125, Statsd.Local:8125,,[::1]:514 ' });
    expect(list).toEqual([
      { host: '127.0.0.1', port: 8125 },
      { host: 'statsd.local', port: 8125 },
      { host: '::1', port: 514 },
    ]);
    expect(allows(list, '[::1]', 514)).toBe(true);
    expect(allows(list, 'STATSD.local', 8125)).toBe(true);
    expect(allows(list, '127.0.0.1', 8126)).toBe(false);
    expect(readUdpAllowlist({})).toEqual([]);
  });

  it.each([
    '127.0.0.1',
    '127.0.0.1:0',
    '127.0.0.1:65536',
    ':53',
    'a b:53',
    '[example.com]:53',
    'h:5x',
    '::1',
  ])('%s is a ProvablyConfigError naming the variable', (value) => {
    try {
      readUdpAllowlist({ PROVABLY_ALLOW_UDP: value });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ProvablyConfigError);
      expect((err as ProvablyConfigError).setting).toBe('PROVABLY_ALLOW_UDP');
    }
  });
});

describe('PROVABLY_ALLOW_DNS_SERVERS', () => {
  it('parses ip[:port] with port 53 by default', () => {
    expect(
      readDnsServerAllowlist({
        PROVABLY_ALLOW_DNS_SERVERS: '10.0.0.2, 10.0.0.3:5353, fd00::2, [fd00::3]:5353',
      }),
    ).toEqual([
      { host: '10.0.0.2', port: 53 },
      { host: '10.0.0.3', port: 5353 },
      { host: 'fd00::2', port: 53 },
      { host: 'fd00::3', port: 5353 },
    ]);
  });

  it.each(['dns.example', 'dns.example:53', '10.0.0.2:0', '[10.0.0.2]:53'])('%s is refused', (value) => {
    expect(() => readDnsServerAllowlist({ PROVABLY_ALLOW_DNS_SERVERS: value })).toThrow(ProvablyConfigError);
  });
});

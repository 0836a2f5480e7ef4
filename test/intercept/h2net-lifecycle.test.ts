/** Installing patches http2, dgram and dns; uninstalling restores every original function. */
import dgram from 'node:dgram';
import dns from 'node:dns';
import http2 from 'node:http2';
import { Duplex } from 'node:stream';
import { expect, it } from 'vitest';
import { installInterception } from '../../src/intercept/index.js';
import { MemoryRecorder, ORG, resolveScope, SetGate } from './kit.js';

function sessionProto(): { request: unknown } {
  const dummy = new Duplex({ read() {}, write: (_c, _e, cb) => cb() });
  const session = http2.connect('http://127.0.0.1:9', { createConnection: () => dummy });
  session.on('error', () => {});
  session.destroy();
  return Object.getPrototypeOf(session) as { request: unknown };
}

function snapshot(): unknown[] {
  return [
    http2.connect,
    sessionProto().request,
    dgram.Socket.prototype.send,
    dgram.Socket.prototype.connect,
    dns.Resolver.prototype.resolve4,
    dns.promises.Resolver.prototype.resolveTxt,
    dns.resolve4,
    dns.promises.resolve6,
  ];
}

it('patches every http2/dgram/dns entry point and restores each on uninstall', () => {
  const before = snapshot();
  const handle = installInterception({
    gate: new SetGate(),
    recorder: new MemoryRecorder(),
    resolveScope,
    orgId: () => ORG,
  });
  const during = snapshot();
  for (let i = 0; i < before.length; i++) expect(during[i], `entry ${i}`).not.toBe(before[i]);
  handle.uninstall();
  expect(snapshot()).toEqual(before);
});

it('transports: { http2, udp, dns: false } leaves them alone', () => {
  const before = snapshot();
  const handle = installInterception({
    gate: new SetGate(),
    recorder: new MemoryRecorder(),
    resolveScope,
    orgId: () => ORG,
    transports: { http2: false, udp: false, dns: false },
  });
  expect(snapshot()).toEqual(before);
  handle.uninstall();
});

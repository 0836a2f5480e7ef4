/**
 * install / uninstall: idempotent, restores every patched function and channel, validates its
 * options; and outside a scope the adapters leave requests and responses untouched.
 */
import dc from 'node:diagnostics_channel';
import http from 'node:http';
import * as undici8 from 'undici';
import * as undici7 from 'undici7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { ProvablyBlockedError, ProvablyConfigError } from '../../src/errors/index.js';
import { installInterception, interceptionStats } from '../../src/intercept/index.js';
import type { InterceptOptions } from '../../src/intercept/types.js';
import { type CountingServer, startCountingServer } from '../helpers/counting-server.js';
import { inScope, MemoryRecorder, ORG, resolveScope, SetGate } from './kit.js';

function dispatcherBase(instance: object): { dispatch: unknown } {
  let proto = Object.getPrototypeOf(instance) as { dispatch: unknown; constructor: { name: string } };
  while (proto.constructor.name !== 'DispatcherBase') proto = Object.getPrototypeOf(proto);
  return proto;
}

const agentProto = http.Agent.prototype as unknown as { addRequest: unknown };
const requestProto = http.ClientRequest.prototype as unknown as { onSocket: unknown };
const base7 = dispatcherBase(new undici7.Agent());
const base8 = dispatcherBase(new undici8.Agent());
const original = {
  addRequest: agentProto.addRequest,
  onSocket: requestProto.onSocket,
  dispatch7: base7.dispatch,
  dispatch8: base8.dispatch,
};

let untrusted: CountingServer;
beforeAll(async () => {
  untrusted = await startCountingServer();
  configureDiag({ level: 'silent' });
});
afterAll(() => untrusted.close());

function options(gate = new SetGate()): InterceptOptions {
  return { gate, recorder: new MemoryRecorder(), resolveScope, orgId: () => ORG };
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

describe('install / uninstall', () => {
  it('patches once, is idempotent, and uninstall restores every function and channel', async () => {
    const gateA = new SetGate();
    const first = installInterception(options(gateA));
    const patched = {
      addRequest: agentProto.addRequest,
      onSocket: requestProto.onSocket,
      dispatch7: base7.dispatch,
      dispatch8: base8.dispatch,
    };
    for (const key of Object.keys(original) as Array<keyof typeof original>) {
      expect(patched[key], key).not.toBe(original[key]);
    }
    expect(dc.channel('undici:request:create').hasSubscribers).toBe(true);

    // A second install keeps the same patches (no double wrapping) and swaps the options.
    const gateB = new SetGate();
    const second = installInterception(options(gateB));
    expect(second).toBe(first);
    expect(agentProto.addRequest).toBe(patched.addRequest);
    expect(base8.dispatch).toBe(patched.dispatch8);
    await inScope(() => getStatus(`${untrusted.url}/json`)).catch(() => undefined);
    expect(gateA.asked).toHaveLength(0);
    expect(gateB.asked).toHaveLength(1);

    first.uninstall();
    expect(agentProto.addRequest).toBe(original.addRequest);
    expect(requestProto.onSocket).toBe(original.onSocket);
    expect(base7.dispatch).toBe(original.dispatch7);
    expect(base8.dispatch).toBe(original.dispatch8);
    expect(dc.channel('undici:request:create').hasSubscribers).toBe(false);
    expect(dc.channel('tracing:module.require:end').hasSubscribers).toBe(false);
    second.uninstall(); // idempotent

    // Uninstalled: scoped calls are no longer governed.
    expect(await inScope(() => getStatus(`${untrusted.url}/json`))).toBe(200);

    // And it can be installed again.
    const third = installInterception(options());
    const err = await inScope(() => getStatus(`${untrusted.url}/json`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvablyBlockedError);
    third.uninstall();
  });

  it('a wrapper installed over ours survives uninstall; ours turns into a passthrough', async () => {
    const handle = installInterception(options());
    const ours = agentProto.addRequest as (...args: unknown[]) => unknown;
    let theirs = 0;
    const wrapper = function (this: unknown, ...args: unknown[]) {
      theirs++;
      return ours.apply(this, args);
    };
    agentProto.addRequest = wrapper;
    try {
      handle.uninstall();
      expect(agentProto.addRequest).toBe(wrapper);
      expect(await inScope(() => getStatus(`${untrusted.url}/json`))).toBe(200);
      expect(theirs).toBe(1);
    } finally {
      agentProto.addRequest = original.addRequest;
    }
  });

  it('rejects unusable options with a ProvablyConfigError', () => {
    expect(() => installInterception({} as InterceptOptions)).toThrow(ProvablyConfigError);
    expect(() => installInterception({ ...options(), orgId: 'x' as unknown as () => string })).toThrow(
      /orgId must be a function/,
    );
  });
});

describe('outside a scope', () => {
  it('requests and responses are not instrumented, the gate and recorder are not consulted', async () => {
    const gate = new SetGate();
    const recorder = new MemoryRecorder();
    const handle = installInterception({ gate, recorder, resolveScope, orgId: () => ORG });
    try {
      const stats = interceptionStats();
      const seen = await new Promise<{ reqEmit: boolean; resPush: boolean; resEmit: boolean }>(
        (resolve, reject) => {
          const req = http.get(`${untrusted.url}/json`, (res) => {
            res.resume();
            res.on('end', () =>
              resolve({
                reqEmit: Object.hasOwn(req, 'emit'),
                resPush: Object.hasOwn(res, 'push'),
                resEmit: Object.hasOwn(res, 'emit'),
              }),
            );
          });
          req.on('error', reject);
        },
      );
      expect(seen).toEqual({ reqEmit: false, resPush: false, resEmit: false });
      const res = await undici8.request(`${untrusted.url}/json`);
      await res.body.text();
      await (await fetch(`${untrusted.url}/json`)).text();
      expect(gate.asked).toHaveLength(0);
      expect(recorder.started).toHaveLength(0);
      expect(interceptionStats()).toEqual(stats);
    } finally {
      handle.uninstall();
    }
  });
});

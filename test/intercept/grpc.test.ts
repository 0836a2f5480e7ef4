/**
 * @grpc/grpc-js over node:http2: a real gRPC server on 127.0.0.1 with a hand-written service
 * definition (JSON serializers, no protobuf codegen), a generic client.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { installInterception } from '../../src/intercept/index.js';
import type { InterceptionHandle } from '../../src/intercept/types.js';
import { inScope, MemoryRecorder, ORG, resolveScope, SetGate } from './kit.js';

interface Greeting {
  name: string;
}

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString()) as unknown,
};

const service: grpc.ServiceDefinition = {
  hello: {
    path: '/test.Greeter/Hello',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

const Client = grpc.makeGenericClientConstructor(service, 'Greeter');

interface GrpcServer {
  server: grpc.Server;
  port: number;
  calls: number;
}

async function startGreeter(): Promise<GrpcServer> {
  const server = new grpc.Server();
  const state: GrpcServer = { server, port: 0, calls: 0 };
  server.addService(service, {
    hello: (call: grpc.ServerUnaryCall<Greeting, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      state.calls++;
      callback(null, { message: `hello ${call.request.name}` });
    },
  });
  state.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  return state;
}

function hello(client: grpc.Client, name: string): Promise<{ value?: unknown; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    (
      client as unknown as Record<
        string,
        (req: unknown, cb: (e: grpc.ServiceError | null, v?: unknown) => void) => void
      >
    ).hello?.({ name }, (error, value) => resolve(error ? { error } : { value }));
  });
}

let trusted: GrpcServer;
let untrusted: GrpcServer;
const gate = new SetGate();
const recorder = new MemoryRecorder();
let handle: InterceptionHandle;
const clients: grpc.Client[] = [];

function client(server: GrpcServer, options: grpc.ClientOptions = {}): grpc.Client {
  const c = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure(), options);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  [trusted, untrusted] = await Promise.all([startGreeter(), startGreeter()]);
  gate.trust(`http://127.0.0.1:${trusted.port}`);
  configureDiag({ level: 'error', sink: () => {} });
  handle = installInterception({ gate, recorder, resolveScope, orgId: () => ORG });
});

afterAll(async () => {
  handle.uninstall();
  for (const c of clients) c.close();
  for (const s of [trusted, untrusted]) s.server.forceShutdown();
});

beforeEach(() => recorder.reset());

describe('gRPC through @grpc/grpc-js', () => {
  it('a trusted unary call is recorded (URL = origin + method path, peer h2)', async () => {
    const c = client(trusted);
    const out = await inScope(() => hello(c, 'ada'));
    expect(out.error).toBeUndefined();
    expect(out.value).toEqual({ message: 'hello ada' });
    await recorder.waitFor(1);
    const call = recorder.calls[0];
    expect(call?.request.url).toBe(`http://127.0.0.1:${trusted.port}/test.Greeter/Hello`);
    expect(call?.request.method).toBe('POST');
    expect(call?.status).toBe(200);
    expect(call?.headers?.['content-type']).toBe('application/grpc+proto');
    // The body is the gRPC frame: 1 flag byte, 4 length bytes, the message.
    expect(call?.body.subarray(5).toString()).toBe(JSON.stringify({ message: 'hello ada' }));
    expect(call?.peer?.protocol).toBe('h2');
    expect(call?.peer?.port).toBe(trusted.port);
    // RESIDUAL (README): trailers are not part of the row — gRPC's status travels in them.
    expect(call?.headers?.['grpc-status']).toBeUndefined();
  });

  it('a call to an untrusted server fails with the refusal and never reaches the handler', async () => {
    const c = client(untrusted);
    const before = untrusted.calls;
    const out = await inScope(() => hello(c, 'mallory'));
    expect(out.error).toBeDefined();
    expect(out.error?.details).toContain('BLOCKED');
    // A second call on the same (by now connected) channel: refused per request as well.
    const again = await inScope(() => hello(c, 'mallory'));
    expect(again.error?.details).toContain('BLOCKED');
    expect(untrusted.calls).toBe(before);
    expect(recorder.started).toHaveLength(0);
  });

  it('outside a scope gRPC is untouched', async () => {
    // Its own subchannel pool: the shared one was refused at connect inside a scope (next test).
    const c = client(untrusted, { 'grpc.use_local_subchannel_pool': 1 });
    const out = await hello(c, 'free');
    expect(out.value).toEqual({ message: 'hello free' });
    expect(recorder.started).toHaveLength(0);
  });

  it('RESIDUAL: after a scoped call to an untrusted target was refused at connect, grpc-js keeps that shared connection failing — for unscoped calls too', async () => {
    // grpc-js shares one subchannel per target and reconnects in the async context of the call
    // that first connected it; the connection guard refuses those reconnects as well (0
    // connections wins over availability). The README states this limit.
    const before = untrusted.calls;
    const scoped = await inScope(() => hello(client(untrusted), 'mallory'));
    expect(scoped.error).toBeDefined();
    expect(scoped.value).toBeUndefined();
    const unscoped = await hello(client(untrusted), 'free');
    expect(unscoped.value).toBeUndefined();
    expect(unscoped.error?.code).toBe(14); // UNAVAILABLE
    expect(untrusted.calls).toBe(before);
    // A client with its own subchannel pool is not affected.
    const own = await hello(client(untrusted, { 'grpc.use_local_subchannel_pool': 1 }), 'free');
    expect(own.value).toEqual({ message: 'hello free' });
    expect(untrusted.calls).toBe(before + 1);
  });
});

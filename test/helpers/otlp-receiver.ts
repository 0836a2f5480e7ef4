/**
 * A real OTLP/HTTP trace receiver on 127.0.0.1 (`POST /v1/traces`), accepting both encodings an
 * exporter may send: `application/x-protobuf` (http/protobuf) and `application/json` (http/json).
 * Every span received is normalised to one shape (hex ids, plain attribute values) so tests read
 * both the same way, and every request is counted per encoding.
 *
 * Protobuf decoding: `@opentelemetry/otlp-transformer` (the exporters' own transformer) only
 * ENCODES requests (its reader decodes responses), so requests are decoded with protobufjs
 * (already installed, through @grpc/proto-loader) from a reflection schema of the OTLP trace
 * messages below — the field numbers of opentelemetry-proto `trace/v1/trace.proto`,
 * `common/v1/common.proto` and `collector/trace/v1/trace_service.proto`, only the fields read.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

export interface ReceivedEvent {
  name: string;
  attributes: Record<string, unknown>;
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** SpanKind as OTLP numbers it: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  scope: string;
  attributes: Record<string, unknown>;
  events: ReceivedEvent[];
}

export interface OtlpReceiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Requests received, by encoding. */
  readonly requests: { protobuf: number; json: number; other: number };
  close(): Promise<void>;
}

const SCHEMA = {
  nested: {
    ExportTraceServiceRequest: {
      fields: { resourceSpans: { rule: 'repeated', type: 'ResourceSpans', id: 1 } },
    },
    ResourceSpans: { fields: { scopeSpans: { rule: 'repeated', type: 'ScopeSpans', id: 2 } } },
    ScopeSpans: {
      fields: {
        scope: { type: 'InstrumentationScope', id: 1 },
        spans: { rule: 'repeated', type: 'Span', id: 2 },
      },
    },
    InstrumentationScope: { fields: { name: { type: 'string', id: 1 } } },
    Span: {
      fields: {
        traceId: { type: 'bytes', id: 1 },
        spanId: { type: 'bytes', id: 2 },
        parentSpanId: { type: 'bytes', id: 4 },
        name: { type: 'string', id: 5 },
        kind: { type: 'int32', id: 6 },
        attributes: { rule: 'repeated', type: 'KeyValue', id: 9 },
        events: { rule: 'repeated', type: 'Event', id: 11 },
      },
    },
    Event: {
      fields: {
        name: { type: 'string', id: 2 },
        attributes: { rule: 'repeated', type: 'KeyValue', id: 3 },
      },
    },
    KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } } },
    AnyValue: {
      oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'bytesValue'] } },
      fields: {
        stringValue: { type: 'string', id: 1 },
        boolValue: { type: 'bool', id: 2 },
        intValue: { type: 'int64', id: 3 },
        doubleValue: { type: 'double', id: 4 },
        bytesValue: { type: 'bytes', id: 7 },
      },
    },
  },
};

const Request = protobuf.Root.fromJSON(SCHEMA).lookupType('ExportTraceServiceRequest');

type Json = Record<string, unknown>;

function hex(v: unknown): string {
  if (typeof v === 'string') return v.toLowerCase(); // JSON encoding: already hex
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return '';
}

function value(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return undefined;
  const a = v as Json;
  if (a.stringValue !== undefined) return a.stringValue;
  if (a.boolValue !== undefined) return a.boolValue;
  if (a.intValue !== undefined) return Number(a.intValue);
  if (a.doubleValue !== undefined) return a.doubleValue;
  if (a.bytesValue !== undefined) return a.bytesValue;
  return undefined;
}

function attributes(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list as Json[]) out[String(kv.key)] = value(kv.value);
  return out;
}

/** One ExportTraceServiceRequest, as protobufjs's toObject or the JSON body gives it. */
function spansOf(request: Json): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of (request.resourceSpans as Json[] | undefined) ?? []) {
    for (const ss of (rs.scopeSpans as Json[] | undefined) ?? []) {
      const scope = String((ss.scope as Json | undefined)?.name ?? '');
      for (const s of (ss.spans as Json[] | undefined) ?? []) {
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: String(s.name ?? ''),
          kind: Number(s.kind ?? 0),
          scope,
          attributes: attributes(s.attributes),
          events: ((s.events as Json[] | undefined) ?? []).map((e) => ({
            name: String(e.name ?? ''),
            attributes: attributes(e.attributes),
          })),
        });
      }
    }
  }
  return out;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests = { protobuf: 0, json: 0, other: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const type = String(req.headers['content-type'] ?? '');
      try {
        if (req.method !== 'POST' || req.url !== '/v1/traces')
          throw new Error(`unexpected ${req.method} ${req.url}`);
        if (type.includes('protobuf')) {
          requests.protobuf++;
          const decoded = Request.toObject(Request.decode(body), { longs: String, defaults: false }) as Json;
          spans.push(...spansOf(decoded));
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        } else if (type.includes('json')) {
          requests.json++;
          spans.push(...spansOf(JSON.parse(body.toString('utf8')) as Json));
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } else {
          requests.other++;
          res.writeHead(415).end();
        }
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * End to end: a real agent process started with the built preload records its scoped calls into a
 * real store — one row per call with every column right — and leaves unscoped calls alone.
 */
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { REDACTED } from '../../src/record/index.js';
import { GZIP_BYTES, JSON_BODY } from '../helpers/counting-server.js';
import { runAgent, useAgentServers } from './child.js';
import { bodyText, describeE2E, useE2EStores } from './stores.js';

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const JSON_TEXT = JSON.stringify(JSON_BODY);

interface Ids {
  traceId: string;
  spanId: string;
}
interface RecordResult {
  lookup: { ids: Ids; status: number; setCookie: string[]; body: string };
  gzip: { ids: Ids; status: number; body: unknown };
  post: { ids: Ids; status: number; echoedAuthorization: string };
  unscopedFetch: { status: number; body: string };
  unscopedHttp: { status: number };
  unscopedIds: Ids | null;
  status: { started: boolean; recorded: number; blocked: number };
}

const servers = useAgentServers();

describeE2E('recording with the real preload', (backend) => {
  const stores = useE2EStores(backend);

  it('scoped calls → exactly one complete row each; unscoped calls (even untrusted) go through unrecorded', async () => {
    const store = await stores.fresh();
    await store.trust(
      `${servers.trusted.url}/json`,
      `${servers.trusted.url}/gzip`,
      `${servers.trusted.url}/echo`,
    );
    const trustedBefore = servers.trusted.log.length;
    const untrustedBefore = servers.untrusted.log.length;
    const started = new Date();

    const run = await runAgent<RecordResult>('record.mjs', {
      env: store.env(servers.env),
    });
    const ended = new Date();
    const r = run.result;

    // What the caller saw is the real response (decoded for fetch), credentials untouched.
    expect(r.lookup).toMatchObject({ status: 200, body: JSON_TEXT, setCookie: ['a=1', 'b=2'] });
    expect(r.gzip).toMatchObject({ status: 200, body: JSON_BODY });
    expect(r.post).toMatchObject({ status: 200, echoedAuthorization: 'Basic SECRET' });
    expect(r.unscopedFetch).toEqual({ status: 200, body: JSON_TEXT });
    expect(r.unscopedHttp).toEqual({ status: 200 });
    expect(r.unscopedIds).toBeNull();
    expect(r.status).toMatchObject({ started: true, recorded: 3, blocked: 0 });
    for (const ids of [r.lookup.ids, r.gzip.ids, r.post.ids]) {
      expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(ids.spanId).toMatch(/^[0-9a-f]{16}$/);
    }

    // The servers saw every call: the untrusted one got both unscoped calls, with nothing blocked.
    expect(servers.trusted.log.slice(trustedBefore).map((l) => `${l.method} ${l.path}`)).toEqual([
      'GET /json?customer=42',
      'GET /gzip',
      'POST /echo?via=http',
    ]);
    expect(servers.untrusted.log.slice(untrustedBefore).map((l) => `${l.method} ${l.path}`)).toEqual([
      'GET /json?unscoped=fetch',
      'GET /echo?unscoped=http',
    ]);
    // The real request carried the real credentials (redaction is for the record only).
    expect(servers.trusted.log[trustedBefore]?.headers).toMatchObject({
      authorization: 'Bearer sk-live-SECRET',
      cookie: 'session=SECRET-COOKIE',
      'x-api-key': 'SECRET-KEY',
    });

    const rows = await store.rows();
    expect(rows.map((row) => row.actionName)).toEqual(['crm.lookup', 'files.fetch', 'crm.update']);
    const [lookup, gzip, post] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];

    // fetch with credentials: every column.
    expect(lookup).toMatchObject({
      orgId: store.orgId,
      agentId: 'agent-rec',
      actionName: 'crm.lookup',
      interceptIndex: 7,
      traceId: r.lookup.ids.traceId,
      spanId: r.lookup.ids.spanId,
      method: 'GET',
      url: `${servers.trusted.url}/json?customer=42`,
      status: 200,
      contentEncoding: null,
      bodySha256: sha256(JSON_TEXT),
      bodySize: Buffer.byteLength(JSON_TEXT),
      bodyTruncated: false,
      error: null,
    });
    expect(bodyText(lookup)).toBe(JSON_TEXT);
    expect(lookup.requestHeaders).toMatchObject({
      authorization: REDACTED,
      cookie: REDACTED,
      'x-api-key': REDACTED,
      'x-request-tag': 'kept-as-is',
    });
    expect(lookup.responseHeaders).toMatchObject({
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(JSON_TEXT)),
      'x-test': 'yes',
      'set-cookie': [REDACTED, REDACTED],
    });
    // No secret survives anywhere in the stored headers.
    const stored = JSON.stringify([lookup.requestHeaders, lookup.responseHeaders]);
    for (const secret of ['sk-live-SECRET', 'SECRET-COOKIE', 'SECRET-KEY', 'a=1', 'b=2']) {
      expect(stored).not.toContain(secret);
    }
    expect(lookup.startedAt.getTime()).toBeGreaterThanOrEqual(started.getTime() - 1_000);
    expect(lookup.startedAt.getTime()).toBeLessThanOrEqual(ended.getTime());
    expect(lookup.durationMs).toBeGreaterThanOrEqual(0);

    // gzip: the row keeps the WIRE bytes (still compressed) while the caller got them decoded.
    expect(gzip).toMatchObject({
      agentId: 'agent-rec',
      interceptIndex: null,
      traceId: r.gzip.ids.traceId,
      spanId: r.gzip.ids.spanId,
      method: 'GET',
      url: `${servers.trusted.url}/gzip`,
      status: 200,
      contentEncoding: 'gzip',
      bodySha256: sha256(GZIP_BYTES),
      bodySize: GZIP_BYTES.length,
      bodyTruncated: false,
    });
    expect(Buffer.from(gzip.responseBody ?? [])).toEqual(GZIP_BYTES);

    // node:http POST: method, URL, redaction on the http path too.
    expect(post).toMatchObject({
      method: 'POST',
      url: `${servers.trusted.url}/echo?via=http`,
      status: 200,
      traceId: r.post.ids.traceId,
      spanId: r.post.ids.spanId,
    });
    expect(post.requestHeaders.authorization).toBe(REDACTED);
    expect(JSON.parse(bodyText(post))).toMatchObject({ method: 'POST', body: 'payload' });
    expect(post.bodySha256).toBe(sha256(Buffer.from(post.responseBody ?? [])));

    // Three scopes, three spans: one trace per top-level scope, ids never reused.
    expect(new Set(rows.map((row) => row.spanId)).size).toBe(3);
    // No row for anything outside a scope.
    expect(rows.some((row) => row.url.startsWith(servers.untrusted.url))).toBe(false);
  });
});

/**
 * Test fixtures for the ledger: varied intercept rows inserted straight into the table (as the
 * recorder stores them), and superuser tampering that bypasses the append-only triggers.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Queryable } from '../../src/store/types.js';
import type { RawAccess } from '../helpers/backends.js';

/** Small deterministic PRNG (mulberry32) so failures can be replayed from their seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FixtureRow {
  id: string;
  org_id: string;
  agent_id: string;
  action_name: string;
  intercept_index: number | null;
  trace_id: string | null;
  span_id: string | null;
  method: string;
  url: string;
  status: number | null;
  request_headers: Record<string, string | string[]>;
  response_headers: Record<string, string | string[]> | null;
  /** base64 of the kept bytes, or null. */
  response_body: string | null;
  content_encoding: string | null;
  body_sha256: string | null;
  body_size: number;
  body_truncated: boolean;
  error: string | null;
  started_at: string;
  duration_ms: number | null;
  /** 1: a row as written before peers were recorded (no peer fields); 2: with who answered. */
  leaf_version: 1 | 2;
  peer_address: string | null;
  peer_port: number | null;
  peer_protocol: string | null;
  peer_tls_cert_sha256: string | null;
  peer_tls_subject: string | null;
  peer_tls_subject_alt_name: string | null;
  peer_proxy: string | null;
}

type PeerColumns = Pick<
  FixtureRow,
  | 'peer_address'
  | 'peer_port'
  | 'peer_protocol'
  | 'peer_tls_cert_sha256'
  | 'peer_tls_subject'
  | 'peer_tls_subject_alt_name'
  | 'peer_proxy'
>;

const NO_PEER: PeerColumns = {
  peer_address: null,
  peer_port: null,
  peer_protocol: null,
  peer_tls_cert_sha256: null,
  peer_tls_subject: null,
  peer_tls_subject_alt_name: null,
  peer_proxy: null,
};

/**
 * Who answered row `i`, drawn from its own PRNG stream (so the other fields stay what they were
 * before peers existed): TLS or plain, IPv4 or IPv6, sometimes through a proxy, none for a call
 * that never connected.
 */
function peerOf(rand: () => number, i: number, failed: boolean): PeerColumns {
  if (failed && rand() < 0.5) return NO_PEER;
  const tls = rand() < 0.7;
  return {
    peer_address: rand() < 0.7 ? `203.0.113.${i % 250}` : `2001:db8::${(i % 250).toString(16)}`,
    peer_port: tls ? 443 : 80,
    peer_protocol: rand() < 0.4 ? 'h2' : 'http/1.1',
    peer_tls_cert_sha256: tls ? createHash('sha256').update(`cert${i}`).digest('hex') : null,
    peer_tls_subject: tls ? 'CN=api.example.com, O=Example ☃' : null,
    peer_tls_subject_alt_name: tls
      ? rand() < 0.8
        ? 'DNS:api.example.com, IP Address:203.0.113.1'
        : null
      : null,
    peer_proxy: rand() < 0.25 ? 'http://127.0.0.1:3128' : null,
  };
}

/**
 * `n` rows of org `orgId`, varied the way recorded calls vary: whole bodies, truncated bodies,
 * empty bodies, failed calls without a response, multi-valued and unicode headers.
 */
export function makeRows(orgId: string, n: number, seed = 1): FixtureRow[] {
  const rand = prng(seed);
  const peerRand = prng(seed ^ 0x9e3779b9);
  // The first quarter were written before peers were recorded (an upgraded log: v1, then v2).
  const v1Rows = Math.floor(n / 4);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const rows: FixtureRow[] = [];
  const t0 = Date.UTC(2025, 0, 2, 3, 4, 5, 6);
  for (let i = 0; i < n; i++) {
    const kind = i % 5; // 0,1: whole body; 2: truncated; 3: empty body; 4: failed call
    const full = Buffer.from(
      Array.from({ length: 1 + Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)),
    );
    const failed = kind === 4;
    const kept = failed
      ? null
      : kind === 2
        ? full.subarray(0, Math.floor(full.length / 2))
        : kind === 3
          ? Buffer.alloc(0)
          : full;
    const whole = kind === 3 ? Buffer.alloc(0) : full;
    rows.push({
      id: randomUUID(),
      org_id: orgId,
      agent_id: pick(['alpha', 'beta', 'agent-ü']),
      action_name: pick(['search', 'fetch-doc', 'pay']),
      intercept_index: rand() < 0.2 ? null : i,
      trace_id: rand() < 0.3 ? null : createHash('sha256').update(`t${i}`).digest('hex').slice(0, 32),
      span_id: rand() < 0.3 ? null : createHash('sha256').update(`s${i}`).digest('hex').slice(0, 16),
      method: pick(['GET', 'POST', 'PUT']),
      url: `https://api.example.com/v1/items/${i}?q=${pick(['a', 'é', '😀', 'x y'])}`,
      status: failed ? null : pick([200, 201, 404, 500]),
      request_headers: {
        accept: 'application/json',
        authorization: '[REDACTED]',
        ...(rand() < 0.5 ? { 'x-multi': ['one', 'two'] } : {}),
        ...(rand() < 0.3 ? { 'x-unicode': 'naïve ☃ \u2028' } : {}),
      },
      response_headers: failed ? null : { 'content-type': 'application/json', 'x-req': `r${i}` },
      response_body: kept === null ? null : kept.toString('base64'),
      content_encoding: failed ? null : rand() < 0.2 ? 'gzip' : null,
      body_sha256: failed ? null : createHash('sha256').update(whole).digest('hex'),
      body_size: failed ? 0 : whole.length,
      body_truncated: kind === 2,
      error: failed ? pick(['fetch failed: ECONNRESET', 'BLOCKED: not trusted']) : null,
      started_at: new Date(t0 + i * 1000 + Math.floor(rand() * 500)).toISOString(),
      duration_ms: rand() < 0.1 ? null : Math.round(rand() * 1e6) / 1e3 + 1e-9 * i,
      ...(i < v1Rows
        ? { leaf_version: 1 as const, ...NO_PEER }
        : { leaf_version: 2 as const, ...peerOf(peerRand, i, failed) }),
    });
  }
  return rows;
}

const INSERT = `
INSERT INTO provably_intercepts (id, org_id, agent_id, action_name, intercept_index, trace_id, span_id,
  method, url, status, request_headers, response_headers, response_body, content_encoding, body_sha256,
  body_size, body_truncated, error, started_at, duration_ms, leaf_version, peer_address, peer_port, peer_protocol,
  peer_tls_cert_sha256, peer_tls_subject, peer_tls_subject_alt_name, peer_proxy)
SELECT (r->>'id')::uuid, r->>'org_id', r->>'agent_id', r->>'action_name', (r->>'intercept_index')::int,
  r->>'trace_id', r->>'span_id', r->>'method', r->>'url', (r->>'status')::int, r->'request_headers',
  NULLIF(r->'response_headers', 'null'::jsonb), decode(r->>'response_body', 'base64'), r->>'content_encoding',
  r->>'body_sha256', (r->>'body_size')::bigint, (r->>'body_truncated')::boolean, r->>'error',
  (r->>'started_at')::timestamptz, (r->>'duration_ms')::float8, COALESCE((r->>'leaf_version')::smallint, 1),
  r->>'peer_address', (r->>'peer_port')::int, r->>'peer_protocol', r->>'peer_tls_cert_sha256',
  r->>'peer_tls_subject', r->>'peer_tls_subject_alt_name', r->>'peer_proxy'
FROM jsonb_array_elements($1::jsonb) AS t(r)`;

/** Inserts the rows (one statement) and returns their ids in order. */
export async function insertRows(q: Queryable, rows: readonly FixtureRow[]): Promise<string[]> {
  if (rows.length > 0) await q.query(INSERT, [JSON.stringify(rows)]);
  return rows.map((r) => r.id);
}

/** Inserts `n` varied rows of `orgId`; returns their ids. */
export async function insertRecords(q: Queryable, orgId: string, n: number, seed = 1): Promise<string[]> {
  return insertRows(q, makeRows(orgId, n, seed));
}

/**
 * Installs ledger_test_exec(stmts, arg): runs each statement (with $1 = arg) with triggers off
 * (session_replication_role = replica, local to that one call's transaction). Superuser only.
 */
export async function installTamper(raw: RawAccess): Promise<void> {
  await raw.query(`
CREATE OR REPLACE FUNCTION ledger_test_exec(stmts text[], arg jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE s text;
BEGIN
  PERFORM set_config('session_replication_role', 'replica', true);
  FOREACH s IN ARRAY stmts LOOP
    EXECUTE s USING arg;
  END LOOP;
END
$fn$`);
}

/** Runs statements as superuser with the append-only triggers off; `$1` in them is `arg`. */
export async function tamper(raw: RawAccess, stmts: readonly string[], arg: unknown = null): Promise<void> {
  await raw.query('SELECT ledger_test_exec($1::text[], $2::jsonb)', [[...stmts], JSON.stringify(arg)]);
}

/** SQL string literal. */
export function lit(v: string | number): string {
  return typeof v === 'number' ? String(v) : `'${v.replaceAll("'", "''")}'`;
}

/**
 * What each attempt must satisfy, as a list of violations (empty = the guarantee held):
 * - blocked: the scoped call failed with PROVABLY_BLOCKED in its cause chain; every untrusted
 *   target of the attempt saw 0 connections / datagrams and 0 bytes;
 * - every attempt: no stored row names a URL, peer or certificate other than the server whose
 *   bytes it holds (each server stamps `x-served-by`), and no row holds an untrusted server's bytes.
 */
import { X509Certificate } from 'node:crypto';
import type { InterceptRecord } from '../../../src/record/index.js';
import type { ErrorShape, Settled } from '../../e2e/child.js';
import type { Attempt } from './attempts.js';
import type { Counter, Need } from './targets.js';

export interface AttemptOutcome {
  outside?: Settled<unknown>;
  scoped?: Settled<unknown>;
  /** Wall time of the attempt in the agent process (for the report; never asserted). */
  ms?: number;
}

export interface KnownServers {
  trusted: { origin: string; port: number };
  trustedTls: { origin: string; port: number; certSha256: string };
}

export function certSha256(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();
}

function chain(e: ErrorShape | undefined): ErrorShape[] {
  const out: ErrorShape[] = [];
  for (let c = e; c !== undefined; c = c.cause) out.push(c);
  return out;
}

export function isBlocked(e: ErrorShape | undefined): boolean {
  return chain(e).some((c) => c.code === 'PROVABLY_BLOCKED' || c.ctor === 'ProvablyBlockedError');
}

function describeError(e: ErrorShape | undefined): string {
  return chain(e)
    .map(
      (c) =>
        `${c.name ?? c.ctor ?? '?'}${c.code ? `[${c.code}]` : ''}: ${(c.message ?? c.value ?? '').slice(0, 90)}`,
    )
    .join(' <- ');
}

function describeValue(v: unknown): string {
  if (v && typeof v === 'object' && 'status' in v) {
    const r = v as { status?: unknown; body?: unknown };
    return `status ${String(r.status)}, body ${JSON.stringify(String(r.body ?? '').slice(0, 40))}`;
  }
  return JSON.stringify(v)?.slice(0, 80) ?? String(v);
}

function header(row: InterceptRecord, name: string): string | undefined {
  const v = row.responseHeaders?.[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The peer fields of a row, whatever the row type names them (leaf v2 adds them). */
function peerOf(row: InterceptRecord): { port?: number | null; certSha256?: string | null } | undefined {
  const r = row as unknown as Record<string, unknown>;
  const peer = r.peer as { port?: number | null; tls?: { certSha256?: string } | null } | undefined;
  if (peer && typeof peer === 'object') return { port: peer.port, certSha256: peer.tls?.certSha256 ?? null };
  if ('peerPort' in r)
    return { port: r.peerPort as number | null, certSha256: (r.peerCertSha256 as string) ?? null };
  return undefined;
}

/** Why `row` is a forged or misattributed record, or [] when it is honest. */
export function forgedRow(row: InterceptRecord, servers: KnownServers): string[] {
  const out: string[] = [];
  const body = Buffer.from(row.responseBody ?? new Uint8Array()).toString('utf8');
  const servedBy = header(row, 'x-served-by');
  let origin: string;
  try {
    origin = new URL(row.url).origin;
  } catch {
    origin = `<unparsable ${row.url}>`;
  }
  const where = `row ${row.id} (${row.actionName}) url ${row.url}`;
  if (servedBy?.startsWith('untrusted') || body.startsWith('untrusted:'))
    out.push(`FORGED: ${where} holds the untrusted server's bytes (${servedBy ?? body.slice(0, 40)})`);
  if (origin !== servers.trusted.origin && origin !== servers.trustedTls.origin)
    out.push(`${where} names an origin that is not trusted`);
  if (servedBy === 'trusted-http' && origin !== servers.trusted.origin)
    out.push(`${where} holds trusted-http bytes under another origin`);
  if (servedBy === 'trusted-tls' && origin !== servers.trustedTls.origin)
    out.push(`${where} holds trusted-tls bytes under another origin`);
  const peer = peerOf(row);
  // Rows that carry peer fields (leaf v2) must name the peer of every answered call.
  if ('peer' in row && (row as { peer: unknown }).peer === null && row.status !== null)
    out.push(`${where} was answered (status ${row.status}) but names no peer`);
  if (peer && row.status !== null) {
    const expected =
      servedBy === 'trusted-tls' ? servers.trustedTls : servedBy === 'trusted-http' ? servers.trusted : null;
    if (expected === null || peer.port !== expected.port)
      out.push(
        `${where} names peer port ${peer.port} but was answered by ${servedBy ?? 'an unknown server'}`,
      );
    if (servedBy === 'trusted-tls' && peer.certSha256 !== servers.trustedTls.certSha256)
      out.push(`${where} names certificate ${peer.certSha256} but the trusted TLS server presented another`);
  }
  return out;
}

function targetViolations(a: Attempt, counters: Partial<Record<Need, Counter>>): string[] {
  const out: string[] = [];
  for (const [kind, c] of Object.entries(counters) as [Need, Counter][]) {
    if (a.outsideTraffic || a.kind === 'mixed') {
      const scoped = c.requests.filter((r) => r.includes('in-scope'));
      if (scoped.length > 0) out.push(`untrusted ${kind} target got scoped requests: ${scoped.join(', ')}`);
      continue;
    }
    if (c.connections > 0 || c.bytes > 0)
      out.push(
        `untrusted ${kind} target saw ${c.connections} ${kind === 'udp' ? 'datagrams' : 'connections'}, ${c.bytes} bytes` +
          (c.requests.length > 0 ? ` (${c.requests.slice(0, 2).join(', ')})` : ''),
      );
  }
  return out;
}

type Mixed = { scoped: Settled<{ status?: number }>[]; unscoped: Settled<{ status?: number }>[] };

function mixedViolations(a: Attempt, outcome: AttemptOutcome, rows: InterceptRecord[]): string[] {
  const out: string[] = [];
  if (!outcome.scoped?.ok)
    return [`the mixed attempt itself failed: ${describeError(outcome.scoped?.error)}`];
  const v = outcome.scoped.value as Mixed;
  v.unscoped.forEach((s, i) => {
    if (!s.ok) out.push(`unscoped call ${i} was refused/failed: ${describeError(s.error)}`);
    else if (s.value.status !== 200) out.push(`unscoped call ${i} answered ${s.value.status}`);
  });
  v.scoped.forEach((s, i) => {
    if (a.trustedOnly) {
      if (!s.ok) out.push(`scoped trusted call ${i} failed: ${describeError(s.error)}`);
    } else if (s.ok) out.push(`scoped untrusted call ${i} went through (${describeValue(s.value)})`);
    else if (!isBlocked(s.error)) out.push(`scoped untrusted call ${i} failed without PROVABLY_BLOCKED`);
  });
  const tagged = rows.filter((r) => r.url.includes('/outside'));
  if (tagged.length > 0) out.push(`MIS-TAG: ${tagged.length} unscoped call(s) recorded under the scope`);
  if (a.trustedOnly) {
    const recorded = rows.filter((r) => r.url.includes('/in-scope')).length;
    if (recorded !== v.scoped.length)
      out.push(`${recorded} rows for ${v.scoped.length} scoped trusted calls`);
  }
  return out;
}

export interface CheckInput {
  attempt: Attempt;
  outcome: AttemptOutcome | undefined;
  counters: Partial<Record<Need, Counter>>;
  /** Rows tagged with this attempt's action, plus any row holding this attempt's target's bytes. */
  rows: InterceptRecord[];
  servers: KnownServers;
  /** README.md's text (residual limits must be stated there). */
  readme?: string;
}

/** A residual limit: exactly the documented behaviour, and the README still says so. */
function residualViolations(
  a: Attempt,
  outcome: AttemptOutcome,
  counters: CheckInput['counters'],
  readme: string,
): string[] {
  const r = a.residual;
  if (r === undefined) return [];
  const out: string[] = [];
  if (!readme.includes(r.readme)) out.push(`README no longer states the residual: ${r.readme}`);
  const blocked = outcome.scoped !== undefined && !outcome.scoped.ok && isBlocked(outcome.scoped.error);
  if (blocked !== r.blocked) out.push(`residual says blocked=${r.blocked}, saw blocked=${blocked}`);
  for (const [kind, want] of Object.entries(r.targets) as [Need, { connections: number; bytes: number }][]) {
    const got = counters[kind];
    if (got?.connections !== want.connections || got?.bytes !== want.bytes)
      out.push(`residual says ${kind} ${JSON.stringify(want)}, saw ${got?.connections}/${got?.bytes}`);
  }
  return out;
}

export function violations({ attempt: a, outcome, counters, rows, servers, readme }: CheckInput): string[] {
  if (outcome === undefined) return ['the agent process reported no outcome for this attempt'];
  if (a.residual !== undefined) {
    const out = residualViolations(a, outcome, counters, readme ?? '');
    for (const row of rows) out.push(...forgedRow(row, servers));
    return out;
  }
  const out: string[] = [];
  const kind = a.kind ?? 'blocked';
  if (a.outside && outcome.outside && !outcome.outside.ok)
    out.push(`setup outside the scope failed: ${describeError(outcome.outside.error)}`);
  if (kind === 'blocked') {
    const s = outcome.scoped;
    if (s === undefined) out.push('no scoped outcome');
    else if (s.ok) out.push(`WENT THROUGH: ${describeValue(s.value)}`);
    else if (!isBlocked(s.error)) out.push(`failed without PROVABLY_BLOCKED: ${describeError(s.error)}`);
    out.push(...targetViolations(a, counters));
  } else if (kind === 'mixed') {
    out.push(...mixedViolations(a, outcome, rows), ...targetViolations(a, counters));
  } else if (kind === 'allowed') {
    const s = outcome.scoped;
    if (!s?.ok) out.push(`control failed: ${describeError(s?.error)}`);
    else if ((s.value as { body?: string }).body !== 'trusted-http')
      out.push(`control got ${describeValue(s.value)}`);
    if (rows.length !== 1) out.push(`control: ${rows.length} rows instead of 1`);
  } else if (kind === 'unscoped') {
    const s = outcome.scoped;
    if (!s?.ok) out.push(`unscoped control failed: ${describeError(s?.error)}`);
    if ((counters.http?.connections ?? 0) < 1) out.push('unscoped control did not reach its target');
    if (rows.length !== 0) out.push(`unscoped control was recorded (${rows.length} rows)`);
  }
  for (const row of rows) out.push(...forgedRow(row, servers));
  return out;
}

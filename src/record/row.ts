/**
 * One provably_intercepts row as the recorder writes it: its content (the fields the ledger's
 * leaf binds), its parameter values, and the multi-row INSERT statement.
 */
import { type InterceptRecord, WRITTEN_COLUMNS } from './read.js';

/** A row's content as written: an InterceptRecord without the body bytes and created_at. */
export type RecordedRow = Omit<InterceptRecord, 'responseBody' | 'createdAt'>;

/**
 * The INSERT's columns, in the order of rowValues: the body LAST. pg serializes a statement's
 * parameters into one buffer that grows by 1.5× plus what is added; a body followed by more
 * parameters than the growth left room for is copied into a buffer 1.5× its size (a 16 MiB
 * body: 24 MiB more, plus the outgrown 16 MiB as garbage). Last, nothing follows it.
 */
export const COLUMNS = [...WRITTEN_COLUMNS.filter((c) => c !== 'response_body'), 'response_body'] as const;

/** Placeholder casts: jsonb travels as text so both drivers pass the JSON through unchanged. */
const CASTS: Partial<Record<(typeof COLUMNS)[number], string>> = {
  request_headers: '::text::jsonb',
  response_headers: '::text::jsonb',
};

/** Parameter values in COLUMNS order. */
export function rowValues(row: RecordedRow, kept: Uint8Array | null): unknown[] {
  return [
    row.id,
    row.orgId,
    row.agentId,
    row.actionName,
    row.interceptIndex,
    row.traceId,
    row.spanId,
    row.method,
    row.url,
    row.status,
    JSON.stringify(row.requestHeaders),
    row.responseHeaders === null ? null : JSON.stringify(row.responseHeaders),
    row.contentEncoding,
    row.bodySha256,
    row.bodySize,
    row.bodyTruncated,
    row.error,
    row.startedAt,
    row.durationMs,
    row.leafVersion,
    row.peer?.address ?? null,
    row.peer?.port ?? null,
    row.peer?.protocol ?? null,
    row.peer?.tls?.certSha256 ?? null,
    row.peer?.tls?.subject ?? null,
    row.peer?.tls?.subjectAltName ?? null,
    row.peer?.proxy ?? null,
    kept,
  ];
}

/**
 * PGlite's own bytea parameter encoding costs ~0.35 s per MiB (measured: 16 MiB in 5.6 s); the
 * same bytes as base64 text decoded by the server take ~0.04 s per MiB. PostgreSQL gets the bytes
 * as they are.
 */
export const BODY_INDEX = COLUMNS.indexOf('response_body');

/** `INSERT … VALUES` texts by row count and backend (a few hundred distinct ones at most). */
export class InsertSql {
  readonly #cache = new Map<number, string>();

  text(rows: number, pglite: boolean): string {
    const key = pglite ? -rows : rows;
    let text = this.#cache.get(key);
    if (text === undefined) {
      const tuples: string[] = [];
      let p = 1;
      for (let r = 0; r < rows; r++) {
        const slots = COLUMNS.map((c) => {
          const n = p++;
          if (pglite && c === 'response_body') return `decode($${n}::text, 'base64')`;
          return `$${n}${CASTS[c] ?? ''}`;
        });
        tuples.push(`(${slots.join(', ')})`);
      }
      text = `INSERT INTO provably_intercepts (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`;
      if (this.#cache.size < 128) this.#cache.set(key, text);
    }
    return text;
  }
}

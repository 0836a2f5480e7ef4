/**
 * The body a stored row keeps must be the one its own body_sha256 / body_size describe. The
 * leaf binds only the digest and size, so a superuser who rewrites the kept bytes under an
 * unchanged digest leaves the leaf intact; `provably verify` reports such a row
 * (body-mismatch), the evaluator's store check catches it, and both use this one rule: a body
 * kept whole hashes to body_sha256 and has body_size bytes; a truncated body's prefix can only
 * be checked for being shorter.
 */
import { createHash } from 'node:crypto';
import type { InterceptRecord } from './read.js';

type StoredBody = Pick<InterceptRecord, 'bodySha256' | 'bodySize' | 'bodyTruncated'>;

/** What a row keeps of its body: the byte count and (lazily) their SHA-256 in hex. */
export interface KeptBody {
  size: number;
  sha256(): string;
}

/**
 * What is wrong with the kept body (`null`: none is kept), or null when it is what the row
 * says. verifyLog passes sizes and digests computed by the database, so bodies never travel.
 */
export function keptBodyProblem(row: StoredBody, kept: KeptBody | null): string | null {
  if (kept === null) {
    return row.bodySha256 === null ? null : 'the stored response body is gone';
  }
  if (row.bodySha256 === null) return 'a response body is stored but body_sha256 is null';
  if (row.bodyTruncated) {
    return kept.size < row.bodySize
      ? null
      : `body_truncated is set but ${kept.size} of ${row.bodySize} bytes are stored`;
  }
  if (kept.size !== row.bodySize) return `body_size is ${row.bodySize} but ${kept.size} bytes are stored`;
  if (kept.sha256() !== row.bodySha256) return 'the stored response body does not hash to body_sha256';
  return null;
}

/** keptBodyProblem for a row read with its body bytes. */
export function storedBodyProblem(row: StoredBody & Pick<InterceptRecord, 'responseBody'>): string | null {
  const bytes = row.responseBody;
  return keptBodyProblem(
    row,
    bytes === null
      ? null
      : { size: bytes.byteLength, sha256: () => createHash('sha256').update(bytes).digest('hex') },
  );
}

/**
 * The body a stored row keeps must be the one its own body_sha256 / body_size describe. The
 * leaf binds only the digest and size, so a superuser who rewrites the kept bytes under an
 * unchanged digest leaves the leaf intact; `provably verify` reports such a row
 * (body-mismatch), the evaluator's store check catches it, and the handoff builder refuses to
 * bundle it.
 *
 * The rule is verifyLog's (src/ledger): a body kept whole hashes to body_sha256 and has
 * body_size bytes; a truncated body's prefix can only be checked for being shorter.
 */
import { createHash } from 'node:crypto';
import type { InterceptRecord } from './read.js';

type StoredBody = Pick<InterceptRecord, 'responseBody' | 'bodySha256' | 'bodySize' | 'bodyTruncated'>;

/** What is wrong with the row's kept body, or null when it is what the row says it is. */
export function storedBodyProblem(row: StoredBody): string | null {
  const kept = row.responseBody;
  if (kept === null) {
    return row.bodySha256 === null ? null : 'the stored response body is gone';
  }
  if (row.bodySha256 === null) return 'a response body is stored but body_sha256 is null';
  if (row.bodyTruncated) {
    return kept.byteLength < row.bodySize
      ? null
      : `body_truncated is set but ${kept.byteLength} of ${row.bodySize} bytes are stored`;
  }
  if (kept.byteLength !== row.bodySize) {
    return `body_size is ${row.bodySize} but ${kept.byteLength} bytes are stored`;
  }
  if (createHash('sha256').update(kept).digest('hex') !== row.bodySha256) {
    return 'the stored response body does not hash to body_sha256';
  }
  return null;
}

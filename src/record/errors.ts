/**
 * Errors of the read side of the recorder. They extend ProvablyError so callers can branch on
 * `code` like every other provably error.
 */
import { ProvablyError } from '../errors/index.js';

/** An intercept id that is not a UUID (checked before it reaches the driver). */
export class ProvablyInvalidIdError extends ProvablyError {
  readonly code = 'PROVABLY_INVALID_ID';
  readonly id: string;
  constructor(id: unknown) {
    const shown =
      typeof id === 'string' ? JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id) : typeof id;
    super(`invalid intercept id ${shown}: expected a UUID such as 3f2b8c1e-4d5a-4b6c-9d7e-8f9a0b1c2d3e`);
    this.id = typeof id === 'string' ? id : String(id);
  }
}

export type BodyDecodeFailure =
  /** The row holds no body (the call failed before a response arrived). */
  | 'missing'
  /** Only a prefix of the body was kept (body_truncated) or the stream stops early. */
  | 'truncated'
  /** A content-encoding provably cannot decode. */
  | 'unsupported-encoding'
  /** The bytes are not valid for their declared encoding. */
  | 'corrupt'
  /** Decoding would exceed the output limit. */
  | 'too-large';

/** A stored response body that cannot be decoded to the bytes the caller saw. */
export class ProvablyBodyDecodeError extends ProvablyError {
  readonly code = 'PROVABLY_BODY_DECODE_ERROR';
  readonly reason: BodyDecodeFailure;
  readonly encoding: string | null;
  constructor(
    reason: BodyDecodeFailure,
    encoding: string | null,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `cannot decode response body (${reason}${encoding ? `, content-encoding ${encoding}` : ''}): ${detail}`,
      options,
    );
    this.reason = reason;
    this.encoding = encoding;
  }
}

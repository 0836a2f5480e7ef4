/**
 * Undoes the content-encoding of a stored body: the recorder keeps wire bytes, the caller saw
 * them decoded. Codings listed in one header ("gzip, br") were applied in order, so they are
 * undone in reverse.
 */
import * as zlib from 'node:zlib';
import { ProvablyBodyDecodeError } from './errors.js';
import type { InterceptRecord } from './read.js';

export const DEFAULT_MAX_DECODED_BYTES = 256 * 1024 * 1024;

export interface DecodeBodyOptions {
  /** Refuse to produce more than this many bytes (default 256 MiB): a guard against compression bombs. */
  maxOutputBytes?: number;
}

type Decoder = (input: Uint8Array, maxOutputLength: number) => Buffer;

// zstd arrived in node:zlib with Node 22.15 / 23.8 (experimental); use it when present.
const zstdDecompressSync = (zlib as { zstdDecompressSync?: (b: Uint8Array, o?: zlib.ZlibOptions) => Buffer })
  .zstdDecompressSync;

const DECODERS: Record<string, Decoder | undefined> = {
  gzip: (b, max) => zlib.gunzipSync(b, { maxOutputLength: max }),
  'x-gzip': (b, max) => zlib.gunzipSync(b, { maxOutputLength: max }),
  deflate: (b, max) => {
    // RFC 9110 "deflate" is zlib-wrapped, but some servers send raw deflate; accept both.
    const zlibHeader =
      b.length >= 2 &&
      ((b[0] as number) & 0x0f) === 8 &&
      (((b[0] as number) << 8) | (b[1] as number)) % 31 === 0;
    return zlibHeader
      ? zlib.inflateSync(b, { maxOutputLength: max })
      : zlib.inflateRawSync(b, { maxOutputLength: max });
  },
  br: (b, max) => zlib.brotliDecompressSync(b, { maxOutputLength: max }),
  zstd: zstdDecompressSync ? (b, max) => zstdDecompressSync(b, { maxOutputLength: max }) : undefined,
};

/** The codings provably can undo on this Node version (plus `identity`). */
export function supportedEncodings(): string[] {
  return ['identity', ...Object.keys(DECODERS).filter((k) => DECODERS[k] !== undefined)];
}

/**
 * The body the caller saw: the stored wire bytes with every content-coding undone.
 * Throws ProvablyBodyDecodeError when the row has no body, only a truncated prefix of it, an
 * encoding provably cannot decode, or bytes that do not decode.
 */
export function decodeBody(
  record: Pick<InterceptRecord, 'responseBody' | 'contentEncoding' | 'bodyTruncated'>,
  options: DecodeBodyOptions = {},
): Uint8Array {
  const encoding = record.contentEncoding?.trim() || null;
  const max = options.maxOutputBytes ?? DEFAULT_MAX_DECODED_BYTES;
  if (record.responseBody === null || record.responseBody === undefined) {
    throw new ProvablyBodyDecodeError('missing', encoding, 'the call has no stored response body');
  }
  if (record.bodyTruncated) {
    throw new ProvablyBodyDecodeError(
      'truncated',
      encoding,
      `only the first ${record.responseBody.byteLength} bytes of the body were kept (PROVABLY_MAX_BODY_BYTES)`,
    );
  }
  const codings = (encoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  let bytes: Uint8Array = record.responseBody;
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i] as string;
    const decoder = Object.hasOwn(DECODERS, coding) ? DECODERS[coding] : undefined;
    if (decoder === undefined) {
      throw new ProvablyBodyDecodeError(
        'unsupported-encoding',
        encoding,
        `"${coding}" is not one of ${supportedEncodings().join(', ')}`,
      );
    }
    try {
      const out = decoder(bytes, max);
      bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (err) {
      throw classify(err, coding, encoding, max);
    }
  }
  if (codings.length === 0 && bytes.byteLength > max) {
    throw new ProvablyBodyDecodeError(
      'too-large',
      encoding,
      `the body has ${bytes.byteLength} bytes, more than ${max}`,
    );
  }
  return bytes;
}

function classify(
  err: unknown,
  coding: string,
  encoding: string | null,
  max: number,
): ProvablyBodyDecodeError {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
    return new ProvablyBodyDecodeError('too-large', encoding, `${coding} output exceeds ${max} bytes`, {
      cause: err,
    });
  }
  if (code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(message)) {
    return new ProvablyBodyDecodeError('truncated', encoding, `the ${coding} stream ends early`, {
      cause: err,
    });
  }
  return new ProvablyBodyDecodeError('corrupt', encoding, `not valid ${coding} data: ${message}`, {
    cause: err,
  });
}

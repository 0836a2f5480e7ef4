/**
 * Sending a payload to a receiver: `POST {baseUrl}/handoffs/receive` with the payload's RFC 8785
 * JSON.
 */

import { ProvablyConfigError, redactUserinfo } from '../errors/index.js';
import { selfEgress } from '../scope/index.js';
import { canonicalPayloadJson } from './canonical.js';
import { MAX_BODY_EXCERPT_CHARS, ProvablyHandoffPostError } from './errors.js';
import type { HandoffPayload } from './types.js';

export interface PostHandoffOptions {
  /** Extra request headers (for example an API key). content-type defaults to application/json. */
  headers?: Record<string, string> | Headers;
  /** The fetch to use (default: globalThis.fetch). */
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export interface PostHandoffResult {
  status: number;
  /** The answer's body: parsed JSON when it is JSON, else its text ('' when empty). */
  body: unknown;
}

/** Bytes of an error answer read to build the excerpt; the rest is not downloaded. */
const EXCERPT_READ_BYTES = 4 * MAX_BODY_EXCERPT_CHARS + 4;

/**
 * Validates the payload (ProvablyHandoffSchemaError), POSTs its canonical JSON to
 * `{baseUrl}/handoffs/receive` (a trailing slash on baseUrl is ignored; its query is kept) and
 * returns the 2xx answer. Redirects are not followed (request headers such as API keys must not
 * travel to another URL): a 3xx counts as a failure. Any non-2xx answer, or no answer, throws
 * ProvablyHandoffPostError with the status (null when none) and ≤ 500 characters of the body.
 */
export async function postHandoff(
  baseUrl: string | URL,
  payload: HandoffPayload,
  options: PostHandoffOptions = {},
): Promise<PostHandoffResult> {
  const url = receiveUrl(baseUrl);
  const shownUrl = redactUserinfo(url);
  const body = canonicalPayloadJson(payload);
  const headers = new Headers(options.headers);
  if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  if (!headers.has('accept')) headers.set('accept', 'application/json, text/plain;q=0.9, */*;q=0.1');
  const doFetch = options.fetch ?? globalThis.fetch;

  let response: Response;
  try {
    // Outside every provably scope: a handoff is provably's own traffic, never recorded or
    // blocked as if a tool had made it.
    response = await selfEgress(() =>
      doFetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
  } catch (err) {
    throw new ProvablyHandoffPostError(shownUrl, null, '', { cause: err });
  }

  if (response.status < 200 || response.status > 299) {
    const excerpt = await readExcerpt(response);
    throw new ProvablyHandoffPostError(shownUrl, response.status, excerpt);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    throw new ProvablyHandoffPostError(shownUrl, response.status, '', { cause: err });
  }
  return { status: response.status, body: parseMaybeJson(text) };
}

function receiveUrl(baseUrl: string | URL): string {
  let base: URL;
  try {
    base = new URL(String(baseUrl));
  } catch {
    throw new ProvablyConfigError('baseUrl', `not a URL: ${JSON.stringify(redactUserinfo(String(baseUrl)))}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new ProvablyConfigError('baseUrl', `expected an http(s) URL, got ${base.protocol}`);
  }
  base.pathname = `${base.pathname.replace(/\/+$/, '')}/handoffs/receive`;
  base.hash = '';
  return base.href;
}

/** At most MAX_BODY_EXCERPT_CHARS characters of the body; reads only its first few KiB. */
async function readExcerpt(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_READ_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      size += value.byteLength;
    }
  } catch {
    // A body that breaks off still yields what arrived.
  } finally {
    reader.cancel().catch(() => {});
  }
  // stream: true holds back a multi-byte character cut at the end instead of mangling it.
  const text = new TextDecoder().decode(Buffer.concat(parts), { stream: true });
  if (text.length <= MAX_BODY_EXCERPT_CHARS) return text;
  const cut = text.slice(0, MAX_BODY_EXCERPT_CHARS);
  // Never end on half of a surrogate pair.
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

function parseMaybeJson(text: string): unknown {
  if (text === '') return '';
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

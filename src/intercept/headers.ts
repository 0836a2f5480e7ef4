/**
 * Header normalisation for records: the shapes undici and node:http hand headers over in, turned
 * into one lower-cased HeaderMap (repeated names become arrays). Only ever run for governed calls.
 */
import type { HeaderMap } from '../record/types.js';

function put(map: Record<string, string | string[]>, name: string, value: string): void {
  const key = name.toLowerCase();
  const prev = map[key];
  if (prev === undefined) map[key] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else map[key] = [prev, value];
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1');
  return String(v);
}

/** undici/http raw headers: a flat [name, value, name, value, …] list of strings or Buffers. */
export function rawHeadersToMap(raw: unknown): HeaderMap {
  const map: Record<string, string | string[]> = {};
  if (!Array.isArray(raw)) return map;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const value = raw[i + 1];
    if (Array.isArray(value)) for (const v of value) put(map, text(raw[i]), text(v));
    else put(map, text(raw[i]), text(value));
  }
  return map;
}

/** Request headers as undici dispatch options carry them: object, flat array, pairs or iterable. */
export function requestHeadersToMap(headers: unknown): HeaderMap {
  if (headers === null || headers === undefined || typeof headers !== 'object') return {};
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      const map: Record<string, string | string[]> = {};
      for (const pair of headers as unknown[][]) put(map, text(pair[0]), text(pair[1]));
      return map;
    }
    return rawHeadersToMap(headers);
  }
  const iterator = (headers as { [Symbol.iterator]?: unknown })[Symbol.iterator];
  if (typeof iterator === 'function') {
    const map: Record<string, string | string[]> = {};
    for (const pair of headers as Iterable<unknown>) {
      if (Array.isArray(pair)) put(map, text(pair[0]), text(pair[1]));
    }
    return map;
  }
  const map: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) put(map, name, text(v));
    else put(map, name, text(value));
  }
  return map;
}

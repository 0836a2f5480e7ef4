/**
 * Request plumbing shared by the routes: the principal in the Hono context, role checks, and
 * body/query readers that refuse bad input with a GatewayRequestError naming the field — so a
 * malformed request is always a 4xx, never a 500.
 */
import type { Context } from 'hono';
import { isUuid } from '../record/index.js';
import type { ApiPrincipal, ApiRole } from './auth.js';
import { badRequest, forbidden, GatewayRequestError } from './errors.js';
import { isStorableText } from './text.js';

export type GatewayEnv = {
  Variables: {
    principal: ApiPrincipal;
    /** Fields a route adds to the request's one log line (e.g. the decision of an execute). */
    logFields?: Record<string, unknown>;
  };
};
export type GatewayContext = Context<GatewayEnv>;

/** The request's principal, refused (403) unless it has one of `roles`. */
export function principalOf(c: GatewayContext, ...roles: ApiRole[]): ApiPrincipal {
  const p = c.get('principal');
  if (!roles.includes(p.role)) {
    throw forbidden(`this needs a ${roles.join(' or ')} key; this key's role is ${p.role}`);
  }
  return p;
}

/** Nesting a request body may have (params are further limited to 32 levels). */
const MAX_BODY_DEPTH = 64;

/**
 * The body as JSON: 400 for malformed JSON, for nesting past 64 levels, and for strings the
 * store cannot keep (U+0000, lone surrogates) anywhere in it, keys included.
 */
export async function readJson(c: GatewayContext): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw badRequest(`malformed JSON body: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(
      `the body must be a JSON object, got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`,
    );
  }
  checkStorable(body);
  return body as Record<string, unknown>;
}

/** Iterative (a deep body must not overflow the stack): depth and storable strings. */
function checkStorable(root: unknown): void {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: root, path: '$', depth: 0 }];
  const bad = (s: string) => !isStorableText(s);
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop() as { v: unknown; path: string; depth: number };
    if (typeof v === 'string') {
      if (bad(v)) throw badRequest(`${path}: contains U+0000 or a lone surrogate, which cannot be stored`);
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_BODY_DEPTH) throw badRequest(`${path}: nested deeper than ${MAX_BODY_DEPTH} levels`);
      for (const [k, x] of Object.entries(v)) {
        if (bad(k)) throw badRequest(`${path}: a key contains U+0000 or a lone surrogate`);
        stack.push({ v: x, path: Array.isArray(v) ? `${path}[${k}]` : `${path}.${k}`, depth: depth + 1 });
      }
    }
  }
}

/** A string field: undefined when absent (and not required), else 1..max characters. */
export function stringField(
  body: Record<string, unknown>,
  key: string,
  o: { required?: boolean; max?: number; nullable?: boolean } = {},
): string | undefined {
  const v = body[key];
  if (v === undefined || (v === null && o.nullable)) {
    if (o.required) throw badRequest(`${key} is required`);
    return undefined;
  }
  const max = o.max ?? 256;
  if (typeof v !== 'string' || v.trim() === '' || v.length > max) {
    throw badRequest(`${key} must be a non-empty string of at most ${max} characters`);
  }
  return v;
}

/** `{ traceId, spanId }` (each a hex string or null), or undefined. */
export function traceField(
  body: Record<string, unknown>,
): { traceId: string | null; spanId: string | null } | undefined {
  const t = body.trace;
  if (t === undefined || t === null) return undefined;
  if (typeof t !== 'object' || Array.isArray(t))
    throw badRequest('trace must be an object { traceId, spanId }');
  const r = t as Record<string, unknown>;
  const hex = (k: 'traceId' | 'spanId', len: number): string | null => {
    const v = r[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${len}}$`).test(v)) {
      throw badRequest(`trace.${k} must be ${len} lower-case hex digits or null`);
    }
    return v;
  };
  return { traceId: hex('traceId', 32), spanId: hex('spanId', 16) };
}

/** Seconds to hold a long-poll (0–55), from a body number or a query string. */
export function waitSeconds(v: unknown, where: string, from: 'body' | 'query'): number {
  if (v === undefined || v === null || (from === 'query' && v === '')) return 0;
  // A query string carries text; a JSON body must carry a number.
  const n = from === 'query' && typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 55) {
    throw badRequest(`${where} must be a number of seconds from 0 to 55`);
  }
  return n;
}

/** A path id that is not a UUID cannot exist: the same 404 as an unknown one. */
export function idParam(c: GatewayContext, name: string, what: string): string {
  const id = c.req.param(name) ?? '';
  if (!isUuid(id)) throw new GatewayRequestError(404, 'not_found', `no such ${what}`);
  return id.toLowerCase();
}

export function limitQuery(c: GatewayContext): number {
  const v = c.req.query('limit');
  if (v === undefined || v === '') return 100;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1000) throw badRequest('limit must be 1-1000');
  return Number(v);
}

/** Cursors are opaque to clients; here they are the last row's id. */
export function cursorQuery(c: GatewayContext): string | undefined {
  const v = c.req.query('cursor');
  if (v === undefined || v === '') return undefined;
  let id: string;
  try {
    id = Buffer.from(v, 'base64url').toString('utf8');
  } catch {
    throw badRequest('cursor is not one this server issued');
  }
  if (!isUuid(id)) throw badRequest('cursor is not one this server issued');
  return id;
}

export function nextCursor<T extends { id: string }>(rows: readonly T[], limit: number): string | null {
  const last = rows[rows.length - 1];
  return rows.length === limit && last !== undefined
    ? Buffer.from(last.id, 'utf8').toString('base64url')
    : null;
}

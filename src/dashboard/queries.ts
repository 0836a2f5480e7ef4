/**
 * The audit log a page at a time: listDecisionEvents with its keyset cursor (the last event's
 * id, compared in the database at full precision), so paging stays exact while new events
 * arrive (an offset would shift). Filters come from the query string and are checked here: a
 * bad value is a message for a 400 page, never a database error.
 */
import {
  type Decision,
  type DecisionEventType,
  type EscalationStatus,
  listDecisionEvents,
  type PolicyMode,
} from '../policy/index.js';
import type { Queryable } from '../store/types.js';

export const AUDIT_PAGE_SIZE = 50;

export interface AuditFilters {
  agentId?: string;
  actionName?: string;
  decision?: Decision;
  sessionId?: string;
  since?: Date;
  until?: Date;
  /** The id of the last event of the previous page. */
  cursor?: string;
}

export interface AuditRow {
  id: string;
  eventType: DecisionEventType;
  decision: Decision | null;
  mode: PolicyMode;
  reason: string;
  agentId: string;
  actionName: string;
  sessionId: string | null;
  escalationStatus: EscalationStatus | null;
  reviewer: string | null;
  decidedAt: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TEXT_MAX = 500;

/** The filters of a query string, or a message saying which one is wrong. */
export function parseAuditFilters(q: URLSearchParams): AuditFilters | string {
  const f: AuditFilters = {};
  const text = (name: string): string | undefined | null => {
    const v = q.get(name)?.trim();
    if (v === undefined || v === '') return undefined;
    if (v.length > TEXT_MAX || v.includes('\u0000')) return null;
    return v;
  };
  for (const [param, key] of [
    ['agent', 'agentId'],
    ['action', 'actionName'],
    ['session', 'sessionId'],
  ] as const) {
    const v = text(param);
    if (v === null) return `The ${param} filter is too long or holds a NUL character.`;
    if (v !== undefined) f[key] = v;
  }
  const d = q.get('decision')?.trim().toUpperCase();
  if (d !== undefined && d !== '') {
    if (d !== 'ALLOW' && d !== 'BLOCK' && d !== 'ESCALATE')
      return 'The decision filter must be ALLOW, BLOCK or ESCALATE.';
    f.decision = d;
  }
  for (const key of ['since', 'until'] as const) {
    const v = q.get(key)?.trim();
    if (v === undefined || v === '') continue;
    const t = parseUtc(v);
    if (t === null) return `The ${key} filter is not a time: use ISO 8601, e.g. 2026-01-31T09:00 (UTC).`;
    f[key] = t;
  }
  const cursor = q.get('cursor');
  if (cursor !== null && cursor !== '') {
    const c = decodeCursor(cursor);
    if (c === null) return 'The page cursor is not valid: start again from the first page.';
    f.cursor = c;
  }
  return f;
}

/** ISO 8601; a time without a zone (a datetime-local value) is read as UTC. */
function parseUtc(v: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(v))
    return null;
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(v) ? v : /T|\s/.test(v) ? `${v}Z` : `${v}T00:00Z`;
  const t = new Date(zoned.replace(' ', 'T'));
  return Number.isNaN(t.getTime()) ? null : t;
}

function encodeCursor(id: string): string {
  return Buffer.from(id).toString('base64url');
}

function decodeCursor(s: string): string | null {
  if (s.length > 200) return null;
  const id = Buffer.from(s, 'base64url').toString('utf8');
  return UUID.test(id) ? id : null;
}

/** One page of the tenant's events, newest first, and the cursor of the next page (or null). */
export async function listAuditPage(
  q: Queryable,
  tenant: string,
  f: AuditFilters,
  pageSize = AUDIT_PAGE_SIZE,
): Promise<{ rows: AuditRow[]; nextCursor: string | null }> {
  const events = await listDecisionEvents(q, {
    orgId: tenant,
    agentId: f.agentId,
    actionName: f.actionName,
    decision: f.decision,
    sessionId: f.sessionId,
    since: f.since,
    until: f.until,
    afterId: f.cursor,
    limit: pageSize + 1,
  });
  const page = events.slice(0, pageSize);
  const last = page.at(-1);
  return { rows: page, nextCursor: events.length > pageSize && last ? encodeCursor(last.id) : null };
}

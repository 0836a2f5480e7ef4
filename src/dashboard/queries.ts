/**
 * The dashboard's own list query: audit events a page at a time with a keyset cursor
 * (decided_at, id), so paging stays exact while new events arrive (an offset would shift).
 * Filters come from the query string and are checked here: a bad value is a message for a 400
 * page, never a database error.
 */
import type { Decision, DecisionEventType, EscalationStatus, PolicyMode } from '../policy/index.js';
import type { Queryable } from '../store/types.js';

export const AUDIT_PAGE_SIZE = 50;

export interface AuditFilters {
  agentId?: string;
  actionName?: string;
  decision?: Decision;
  sessionId?: string;
  since?: Date;
  until?: Date;
  cursor?: { at: string; id: string };
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

function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

function decodeCursor(s: string): { at: string; id: string } | null {
  if (s.length > 200) return null;
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v.length !== 2) return null;
    const [at, id] = v as [unknown, unknown];
    if (typeof at !== 'string' || typeof id !== 'string' || !UUID.test(id)) return null;
    if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/.test(at)) return null;
    return { at, id };
  } catch {
    return null;
  }
}

/** One page of the tenant's events, newest first, and the cursor of the next page (or null). */
export async function listAuditPage(
  q: Queryable,
  tenant: string,
  f: AuditFilters,
  pageSize = AUDIT_PAGE_SIZE,
): Promise<{ rows: AuditRow[]; nextCursor: string | null }> {
  const where = ['org_id = $1'];
  const params: unknown[] = [tenant];
  const add = (sql: string, ...values: unknown[]) => {
    let out = sql;
    for (const v of values) {
      params.push(v);
      out = out.replace('?', `$${params.length}`);
    }
    where.push(out);
  };
  if (f.agentId !== undefined) add('agent_id = ?', f.agentId);
  if (f.actionName !== undefined) add('action_name = ?', f.actionName);
  if (f.decision !== undefined) add('decision = ?', f.decision);
  if (f.sessionId !== undefined) add('session_id = ?', f.sessionId);
  if (f.since !== undefined) add('decided_at >= ?::timestamptz', f.since.toISOString());
  if (f.until !== undefined) add('decided_at < ?::timestamptz', f.until.toISOString());
  // The cursor carries decided_at at full (microsecond) precision as UTC text: a Date would
  // round it and skip or repeat rows at a page boundary.
  if (f.cursor !== undefined)
    add("(decided_at, id) < ((?::text || '+00')::timestamptz, ?::uuid)", f.cursor.at, f.cursor.id);
  params.push(pageSize + 1);
  const res = await q.query<Record<string, unknown>>(
    `SELECT id, event_type, decision, mode, reason, agent_id, action_name, session_id, escalation_status, reviewer,
       decided_at, to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at_text
     FROM provably_decisions WHERE ${where.join(' AND ')}
     ORDER BY decided_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  const more = res.rows.length > pageSize;
  const page = res.rows.slice(0, pageSize);
  const last = page.at(-1);
  return {
    rows: page.map((r) => ({
      id: String(r.id),
      eventType: r.event_type as DecisionEventType,
      decision: (r.decision ?? null) as Decision | null,
      mode: r.mode as PolicyMode,
      reason: String(r.reason),
      agentId: String(r.agent_id),
      actionName: String(r.action_name),
      sessionId: r.session_id === null ? null : String(r.session_id),
      escalationStatus: (r.escalation_status ?? null) as EscalationStatus | null,
      reviewer: r.reviewer === null ? null : String(r.reviewer),
      decidedAt: r.decided_at as Date,
    })),
    nextCursor: more && last ? encodeCursor(String(last.at_text), String(last.id)) : null,
  };
}

/** @jsxImportSource hono/jsx */
/**
 * The escalations queue (the landing page): what waits for a human, decided here one at a time
 * or together. Decisions go through decideEscalation, whose `WHERE status = 'pending'` makes a
 * second decision (this page racing the CLI, the REST API or another reviewer) a conflict that
 * changes nothing; the page then says who decided first.
 */
import type { Hono } from 'hono';
import { EscalationError } from '../../errors/index.js';
import {
  type DecisionEvent,
  decideEscalation,
  type Escalation,
  getEscalation,
  listDecisionEvents,
  listEscalations,
} from '../../policy/index.js';
import { isUuid } from '../../record/index.js';
import type { DashEnv, Deps } from '../context.js';
import { Csrf, DecisionBadge, JsonView, Notice, Page, type PageContext, shortId, Time } from '../layout.js';
import type { UiSession } from '../sessions.js';

const QUEUE_LIMIT = 100;
const MAX_BATCH = 100;

export function registerQueue(app: Hono<DashEnv>, deps: Deps): void {
  const { store } = deps;

  app.get('/', async (c) => {
    const page = c.get('page');
    const session = c.get('session') as UiSession;
    const pending = await listEscalations(store, {
      orgId: session.tenant,
      status: 'pending',
      limit: QUEUE_LIMIT,
    });
    const histories = await Promise.all(pending.map((e) => sessionHistory(deps, e)));
    const notice = await noticeOf(deps, session, new URL(c.req.url).searchParams);
    return deps.render(
      c,
      <Page ctx={page} title="Escalations" current="/">
        {notice}
        <form id="batch-form" class="card" method="post" action={`${page.base}/escalations/decide`}>
          <Csrf session={session} />
          <fieldset class="plain">
            <legend>Decide the selected escalations together</legend>
            <div class="decide">
              <div class="reason">
                <label for="batch-reason">Reason (recorded with each decision)</label>
                <input id="batch-reason" type="text" name="reason" required maxlength={1000} />
              </div>
              <button type="submit" name="decision" value="approve" class="approve">
                Approve selected
              </button>
              <button type="submit" name="decision" value="reject" class="reject">
                Reject selected
              </button>
            </div>
          </fieldset>
        </form>
        <p id="queue-empty" class="muted" hidden={pending.length > 0}>
          Nothing is waiting for a decision.
        </p>
        <div id="queue" aria-live="polite">
          {pending.map((e, i) => (
            <EscalationCard e={e} page={page} session={session} history={histories[i] ?? []} />
          ))}
        </div>
      </Page>,
    );
  });

  // Live updates: which escalations are pending now, and what became of those the page shows.
  app.get('/escalations/poll', async (c) => {
    const session = c.get('session') as UiSession;
    const known = (c.req.query('known') ?? '')
      .split(',')
      .filter((id) => isUuid(id))
      .slice(0, 500)
      .map((id) => id.toLowerCase());
    const pending = await listEscalations(store, {
      orgId: session.tenant,
      status: 'pending',
      limit: QUEUE_LIMIT,
    });
    const live = pending.filter((e) => e.remainingMs > 0).map((e) => e.id);
    const rows =
      known.length === 0
        ? []
        : (
            await store.query<Record<string, unknown>>(
              `SELECT id, status, reviewer, decision_reason, expires_at <= now() AS due FROM provably_escalations
               WHERE org_id = $1 AND id IN (SELECT value::uuid FROM jsonb_array_elements_text($2::jsonb))`,
              [session.tenant, JSON.stringify(known)],
            )
          ).rows;
    const changed = rows
      .filter((r) => r.status !== 'pending' || r.due === true)
      .map((r) => ({
        id: String(r.id),
        status: r.status === 'pending' ? 'expired' : String(r.status),
        text: statusText(r),
      }));
    return c.json({ pending: live, changed });
  });

  app.get('/escalations/:id/card', async (c) => {
    const session = c.get('session') as UiSession;
    const e = await ownEscalation(deps, session, c.req.param('id'));
    if (e === null) return c.text('not found', 404);
    const history = await sessionHistory(deps, e);
    return deps.render(
      c,
      <EscalationCard e={e} page={c.get('page')} session={session} history={history} />,
      200,
      false,
    );
  });

  app.get('/escalations/:id', async (c) => {
    const session = c.get('session') as UiSession;
    const page = c.get('page');
    const e = await ownEscalation(deps, session, c.req.param('id'));
    if (e === null) return deps.notFound(c, 'No such escalation.');
    const history = await sessionHistory(deps, e);
    return deps.render(
      c,
      <Page ctx={page} title={`Escalation ${shortId(e.id)}`} current="/">
        <EscalationCard e={e} page={page} session={session} history={history} />
        <p>
          <a href={`${page.base}/audit/${e.eventId}`}>The ESCALATE decision in the audit log</a>
        </p>
      </Page>,
    );
  });

  app.post('/escalations/decide', async (c) => {
    const session = c.get('session') as UiSession;
    const body = await c.req.parseBody({ all: true });
    const raw = body.ids;
    const ids = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
    const decision = String(body.decision ?? '');
    const reason = String(body.reason ?? '');
    const base = c.get('page').base;
    if (ids.length === 0) return c.redirect(`${base || '/'}?notice=none_selected`, 303);
    if (ids.length > MAX_BATCH) return deps.badRequest(c, `At most ${MAX_BATCH} escalations at once.`);
    const counts = { done: 0, conflict: 0, failed: 0 };
    for (const id of ids) {
      const outcome = await decideOne(deps, session, id, decision, reason, undefined);
      if (outcome === 'approved' || outcome === 'rejected') counts.done += 1;
      else if (outcome === 'conflict') counts.conflict += 1;
      else if (outcome === 'invalid') return c.redirect(`${base || '/'}?notice=invalid`, 303);
      else counts.failed += 1;
    }
    const q = new URLSearchParams({
      notice: 'batch',
      decision: decision === 'approve' ? 'approved' : 'rejected',
      done: String(counts.done),
      conflict: String(counts.conflict),
      failed: String(counts.failed),
    });
    return c.redirect(`${base || '/'}?${q}`, 303);
  });

  app.post('/escalations/:id/decide', async (c) => {
    const session = c.get('session') as UiSession;
    const id = c.req.param('id');
    const body = await c.req.parseBody();
    const sha =
      typeof body.paramsSha256 === 'string' && body.paramsSha256 !== '' ? body.paramsSha256 : undefined;
    const outcome = await decideOne(
      deps,
      session,
      id,
      String(body.decision ?? ''),
      String(body.reason ?? ''),
      sha,
    );
    if (outcome === 'not_found') return deps.notFound(c, 'No such escalation.');
    const q = new URLSearchParams({ notice: outcome, id });
    return c.redirect(`${c.get('page').base || '/'}?${q}`, 303);
  });
}

type DecideOutcome = 'approved' | 'rejected' | 'conflict' | 'not_found' | 'params_mismatch' | 'invalid';

async function decideOne(
  deps: Deps,
  session: UiSession,
  id: string,
  decision: string,
  reason: string,
  paramsSha256: string | undefined,
): Promise<DecideOutcome> {
  if (decision !== 'approve' && decision !== 'reject') return 'invalid';
  if (reason.trim() === '' || reason.length > 1000) return 'invalid';
  try {
    const { escalation } = await decideEscalation(deps.store, {
      id,
      decision,
      reviewer: session.reviewer,
      reason,
      orgId: session.tenant,
      ...(paramsSha256 === undefined ? {} : { paramsSha256 }),
    });
    return escalation.status === 'approved' ? 'approved' : 'rejected';
  } catch (err) {
    if (!(err instanceof EscalationError)) throw err;
    if (err.reason === 'conflict') return 'conflict';
    if (err.reason === 'not-found') return 'not_found';
    if (err.reason === 'params-mismatch') return 'params_mismatch';
    return 'invalid';
  }
}

/** The escalation when it is this tenant's; null otherwise (another tenant's id is not found). */
export async function ownEscalation(deps: Deps, session: UiSession, id: string): Promise<Escalation | null> {
  const e = await getEscalation(deps.store, id);
  return e !== null && e.orgId === session.tenant ? e : null;
}

/** Earlier decisions in the escalation's session (newest first, at most 10). */
async function sessionHistory(deps: Deps, e: Escalation): Promise<DecisionEvent[]> {
  if (e.sessionId === null) return [];
  const events = await listDecisionEvents(deps.store, { orgId: e.orgId, sessionId: e.sessionId, limit: 11 });
  return events
    .filter((ev) => ev.id !== e.eventId && ev.decidedAt.getTime() <= e.createdAt.getTime())
    .slice(0, 10);
}

function statusText(r: Record<string, unknown>): string {
  const why = r.decision_reason ? `: ${String(r.decision_reason)}` : '';
  if (r.status === 'approved') return `Decided elsewhere: approved by ${String(r.reviewer)}${why}`;
  if (r.status === 'rejected') return `Decided elsewhere: rejected by ${String(r.reviewer)}${why}`;
  return 'Expired: no decision can be applied.';
}

function timeLeft(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return `${h > 0 ? `${h}:` : ''}${h > 0 && m < 10 ? '0' : ''}${m}:${r < 10 ? '0' : ''}${r} left`;
}

export function EscalationCard(props: {
  e: Escalation;
  page: PageContext;
  session: UiSession;
  history: DecisionEvent[];
}) {
  const { e, page, session } = props;
  const due = e.status === 'pending' && e.remainingMs <= 0;
  const open = e.status === 'pending' && !due;
  const state = open ? '' : due || e.status === 'expired' ? ' expired' : ' decided';
  const titleId = `esc-${e.id}-title`;
  return (
    <article class={`card esc-card${state}`} data-id={e.id} aria-labelledby={titleId}>
      <div class="row">
        {open ? (
          <input
            type="checkbox"
            name="ids"
            value={e.id}
            form="batch-form"
            aria-label={`Select ${e.actionName} by ${e.agentId}`}
          />
        ) : null}
        <h2 id={titleId} class="inline-h">
          <a href={`${page.base}/escalations/${e.id}`}>{e.actionName}</a>
        </h2>
        <span>
          agent <strong>{e.agentId}</strong>
        </span>
        <span class={`badge ${open ? 'pending' : due ? 'expired' : e.status}`}>
          {due ? 'expired' : e.status}
        </span>
        {open ? (
          <span class="countdown" data-remaining-ms={String(Math.round(e.remainingMs))}>
            {timeLeft(e.remainingMs)}
          </span>
        ) : null}
      </div>
      <dl class="kv">
        <dt>Asked by policy</dt>
        <dd>{e.policyIds.length > 0 ? e.policyIds.join(', ') : '-'}</dd>
        <dt>Why</dt>
        <dd>{e.reason}</dd>
        <dt>Requested</dt>
        <dd>
          <Time at={e.createdAt} />
        </dd>
        <dt>Expires</dt>
        <dd>
          <Time at={e.expiresAt} />
        </dd>
        <dt>Session</dt>
        <dd>{e.sessionId ?? '-'}</dd>
        {e.reviewer !== null ? (
          <>
            <dt>Decided</dt>
            <dd>
              {e.status} by {e.reviewer}
              {e.decisionReason ? `: ${e.decisionReason}` : ''} (<Time at={e.decidedAt} />)
            </dd>
          </>
        ) : null}
      </dl>
      <h3 class="sub">Params</h3>
      <JsonView value={e.params} />
      <p class="muted tight">
        params sha256 <code>{e.paramsSha256}</code>
      </p>
      {props.history.length > 0 ? (
        <details>
          <summary>Session history ({props.history.length} earlier decisions)</summary>
          <ul>
            {props.history.map((h) => (
              <li>
                <Time at={h.decidedAt} /> <DecisionBadge decision={h.decision} mode={h.mode} /> {h.actionName}{' '}
                — {h.reason} (<a href={`${page.base}/audit/${h.id}`}>event</a>)
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      <p class="esc-status" aria-live="polite">
        {due ? 'Expired: no decision can be applied.' : ''}
      </p>
      {open ? (
        <form method="post" action={`${page.base}/escalations/${e.id}/decide`}>
          <Csrf session={session} />
          <input type="hidden" name="paramsSha256" value={e.paramsSha256} />
          <div class="decide">
            <div class="reason">
              <label for={`reason-${e.id}`}>Reason</label>
              <input id={`reason-${e.id}`} type="text" name="reason" required maxlength={1000} />
            </div>
            <button type="submit" name="decision" value="approve" class="approve">
              Approve
            </button>
            <button type="submit" name="decision" value="reject" class="reject">
              Reject
            </button>
          </div>
        </form>
      ) : null}
    </article>
  );
}

async function noticeOf(deps: Deps, session: UiSession, q: URLSearchParams) {
  const notice = q.get('notice');
  if (notice === null) return null;
  const id = q.get('id') ?? '';
  switch (notice) {
    case 'approved':
    case 'rejected':
      return (
        <Notice kind="ok">
          Escalation {shortId(id)} {notice}. The waiting agent has been told.
        </Notice>
      );
    case 'conflict': {
      const e = await ownEscalation(deps, session, id);
      const what =
        e === null
          ? 'it is no longer pending'
          : e.status === 'pending' || e.status === 'expired'
            ? 'it expired'
            : `it was already ${e.status} by ${e.reviewer ?? 'someone'}${e.decisionReason ? ` (${e.decisionReason})` : ''}`;
      return (
        <Notice kind="bad">
          Your decision on {shortId(id)} was not applied: {what}. Nothing was recorded twice.
        </Notice>
      );
    }
    case 'params_mismatch':
      return (
        <Notice kind="bad">Not applied: the escalation holds other params than the ones you saw.</Notice>
      );
    case 'not_found':
      return <Notice kind="bad">No such escalation.</Notice>;
    case 'invalid':
      return <Notice kind="bad">Not applied: a decision needs approve or reject and a reason.</Notice>;
    case 'none_selected':
      return <Notice kind="bad">Select at least one escalation.</Notice>;
    case 'batch': {
      const n = (k: string) => Number.parseInt(q.get(k) ?? '0', 10) || 0;
      return (
        <Notice kind={n('conflict') + n('failed') > 0 ? 'bad' : 'ok'}>
          {n('done')} {q.get('decision') === 'approved' ? 'approved' : 'rejected'}
          {n('conflict') > 0 ? `; ${n('conflict')} already decided or expired (not applied)` : ''}
          {n('failed') > 0 ? `; ${n('failed')} not found` : ''}.
        </Notice>
      );
    }
    default:
      return null;
  }
}

/** @jsxImportSource hono/jsx */
/**
 * The audit log: decision events with filters and cursor pagination, each event's detail (its
 * policy version, escalation and reviewer, what followed it, the HTTP calls in its trace) and
 * the verify button.
 */
import type { Hono } from 'hono';
import { childEvents, type DecisionEvent, getDecisionEvent, getEscalation } from '../../policy/index.js';
import { listIntercepts } from '../../record/index.js';
import type { DashEnv, Deps } from '../context.js';
import { Csrf, DecisionBadge, JsonView, Page, shortId, Time } from '../layout.js';
import { type AuditFilters, type AuditRow, listAuditPage, parseAuditFilters } from '../queries.js';
import type { UiSession } from '../sessions.js';
import { verifyEvidence } from '../verify.js';
import { BodyPreview, VerifyResult } from './shared.js';

export function registerAudit(app: Hono<DashEnv>, deps: Deps): void {
  app.get('/audit', async (c) => {
    const page = c.get('page');
    const session = c.get('session') as UiSession;
    const q = new URL(c.req.url).searchParams;
    const parsed = parseAuditFilters(q);
    if (typeof parsed === 'string') return deps.badRequest(c, parsed);
    const { rows, nextCursor } = await listAuditPage(deps.store, session.tenant, parsed, deps.auditPageSize);
    const next = new URLSearchParams(q);
    next.set('cursor', nextCursor ?? '');
    return deps.render(
      c,
      <Page ctx={page} title="Audit log" current="/audit">
        <AuditFilterForm base={page.base} f={parsed} />
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Decided (UTC)</th>
                <th scope="col">Type</th>
                <th scope="col">Decision</th>
                <th scope="col">Agent</th>
                <th scope="col">Action</th>
                <th scope="col">Session</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <AuditRowView r={r} base={page.base} />
              ))}
            </tbody>
          </table>
        </div>
        {rows.length === 0 ? <p class="muted">No events match.</p> : null}
        {nextCursor !== null ? (
          <p>
            <a href={`${page.base}/audit?${next}`} rel="next">
              Older events →
            </a>
          </p>
        ) : null}
      </Page>,
    );
  });

  app.get('/audit/:id', async (c) => {
    const session = c.get('session') as UiSession;
    const found = await ownEvent(deps, session, c.req.param('id'));
    if (found === null) return deps.notFound(c, 'No such event.');
    return deps.render(c, await detail(deps, c.get('page'), session, found, null));
  });

  app.post('/audit/:id/verify', async (c) => {
    const session = c.get('session') as UiSession;
    const found = await ownEvent(deps, session, c.req.param('id'));
    if (found === null) return deps.notFound(c, 'No such event.');
    const calls = await tracedCalls(deps, found);
    const report = await verifyEvidence(
      deps,
      session.tenant,
      [found.id],
      calls.map((r) => r.id),
    );
    return deps.render(c, await detail(deps, c.get('page'), session, found, report));
  });
}

async function ownEvent(deps: Deps, session: UiSession, id: string): Promise<DecisionEvent | null> {
  const e = await getDecisionEvent(deps.store, id);
  return e !== null && e.orgId === session.tenant ? e : null;
}

function tracedCalls(deps: Deps, e: DecisionEvent) {
  if (e.traceId === null) return Promise.resolve([]);
  return listIntercepts(deps.store, { orgId: e.orgId, traceId: e.traceId, order: 'asc', limit: 100 });
}

async function detail(
  deps: Deps,
  page: Parameters<typeof Page>[0]['ctx'],
  session: UiSession,
  e: DecisionEvent,
  report: Awaited<ReturnType<typeof verifyEvidence>> | null,
) {
  const [followed, escalation, calls, policy] = await Promise.all([
    childEvents(deps.store, e.id),
    e.escalationId === null ? null : getEscalation(deps.store, e.escalationId),
    tracedCalls(deps, e),
    deps.policies?.byDigest?.(deps.store, e.orgId, e.policyVersion) ?? null,
  ]);
  return (
    <Page ctx={page} title={`Event ${shortId(e.id)}`} current="/audit">
      <section class="card">
        <div class="row">
          <DecisionBadge decision={e.decision} mode={e.mode} />
          <strong>{e.actionName}</strong>
          <span>agent {e.agentId}</span>
          <span class="muted">{e.eventType} event</span>
        </div>
        <dl class="kv">
          <dt>Event id</dt>
          <dd>
            <code>{e.id}</code>
          </dd>
          <dt>Decided</dt>
          <dd>
            <Time at={e.decidedAt} />
            {e.durationMs === null ? '' : ` (${e.durationMs} ms)`}
          </dd>
          <dt>Reason</dt>
          <dd>{e.reason}</dd>
          <dt>Mode</dt>
          <dd>{e.mode}</dd>
          <dt>Policy version</dt>
          <dd>
            <code>{e.policyVersion}</code>
          </dd>
          <dt>Policies</dt>
          <dd>{e.policyIds.length ? e.policyIds.join(', ') : '-'}</dd>
          {policy ? (
            <>
              <dt>Policy set</dt>
              <dd>
                <details>
                  <summary>
                    version {policy.version} by {policy.createdBy}
                  </summary>
                  <pre class="policy">{policy.text}</pre>
                </details>
              </dd>
            </>
          ) : null}
          <dt>Session</dt>
          <dd>{e.sessionId ?? '-'}</dd>
          <dt>Trace / span</dt>
          <dd>
            {e.traceId ?? '-'} / {e.spanId ?? '-'}
          </dd>
          <dt>Leaf</dt>
          <dd>{e.leafIndex ?? '-'}</dd>
          {e.parentId ? (
            <>
              <dt>Follows</dt>
              <dd>
                <a href={`${page.base}/audit/${e.parentId}`}>{e.parentId}</a>
              </dd>
            </>
          ) : null}
          {e.outcome ? (
            <>
              <dt>Outcome</dt>
              <dd>
                <JsonView value={e.outcome} />
              </dd>
            </>
          ) : null}
        </dl>
        <h3 class="sub">Params</h3>
        <JsonView value={e.params} />
        <p class="muted tight">
          params sha256 <code>{e.paramsSha256}</code>
        </p>
      </section>

      {escalation && escalation.orgId === session.tenant ? (
        <section class="card">
          <h2>Escalation</h2>
          <dl class="kv">
            <dt>Status</dt>
            <dd>
              <span class={`badge ${escalation.status}`}>{escalation.status}</span>
            </dd>
            <dt>Reviewer</dt>
            <dd>{escalation.reviewer ?? '-'}</dd>
            <dt>Reviewer's reason</dt>
            <dd>{escalation.decisionReason ?? '-'}</dd>
            <dt>Requested / expires</dt>
            <dd>
              <Time at={escalation.createdAt} /> / <Time at={escalation.expiresAt} />
            </dd>
            <dt>Decided</dt>
            <dd>
              <Time at={escalation.decidedAt} />
            </dd>
          </dl>
          <p>
            <a href={`${page.base}/escalations/${escalation.id}`}>Open the escalation</a>
          </p>
        </section>
      ) : null}

      {followed.length > 0 ? (
        <section class="card">
          <h2>What followed</h2>
          <ul>
            {followed.map((f) => (
              <li>
                <a href={`${page.base}/audit/${f.id}`}>{f.eventType}</a>{' '}
                <DecisionBadge decision={f.decision} /> {f.reason} (<Time at={f.decidedAt} />)
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <section class="card">
        <h2>HTTP calls in this trace ({calls.length})</h2>
        {calls.length === 0 ? <p class="muted">None recorded.</p> : null}
        {calls.map((r) => (
          <div class="call">
            <p class="tight">
              <strong>{r.method}</strong> <a href={`${page.base}/records/${r.id}`}>{r.url}</a> →{' '}
              {r.status ?? r.error ?? '-'}
            </p>
            <BodyPreview record={r} />
          </div>
        ))}
      </section>

      <section class="card">
        <h2>Proof</h2>
        <form method="post" action={`${page.base}/audit/${e.id}/verify`}>
          <Csrf session={session} />
          <button type="submit">Verify the event and its records</button>
        </form>
        {report ? <VerifyResult report={report} /> : null}
      </section>
    </Page>
  );
}

function AuditFilterForm(props: { base: string; f: AuditFilters }) {
  const { f } = props;
  const field = (name: string, label: string, value: string | undefined, placeholder?: string) => (
    <div>
      <label for={`f-${name}`}>{label}</label>
      <input id={`f-${name}`} type="text" name={name} value={value ?? ''} placeholder={placeholder} />
    </div>
  );
  return (
    <form class="card filters" method="get" action={`${props.base}/audit`} aria-label="Filter events">
      {field('agent', 'Agent', f.agentId)}
      {field('action', 'Action', f.actionName)}
      <div>
        <label for="f-decision">Decision</label>
        <select id="f-decision" name="decision">
          {['', 'ALLOW', 'BLOCK', 'ESCALATE'].map((d) => (
            <option value={d} selected={f.decision === d || (d === '' && f.decision === undefined)}>
              {d === '' ? 'any' : d}
            </option>
          ))}
        </select>
      </div>
      {field('session', 'Session', f.sessionId)}
      {field('since', 'Since (UTC)', f.since?.toISOString(), '2026-01-31T09:00')}
      {field('until', 'Until (UTC)', f.until?.toISOString(), '2026-01-31T18:00')}
      <button type="submit">Filter</button>
    </form>
  );
}

function AuditRowView(props: { r: AuditRow; base: string }) {
  const { r } = props;
  return (
    <tr>
      <td>
        <a href={`${props.base}/audit/${r.id}`}>
          <Time at={r.decidedAt} />
        </a>
      </td>
      <td>{r.eventType}</td>
      <td>
        <DecisionBadge decision={r.decision} mode={r.mode} />
        {r.escalationStatus ? <span class="muted"> {r.escalationStatus}</span> : null}
      </td>
      <td>{r.agentId}</td>
      <td>{r.actionName}</td>
      <td>{r.sessionId ?? '-'}</td>
      <td>
        {r.reason.length > 120 ? `${r.reason.slice(0, 119)}…` : r.reason}
        {r.reviewer ? <span class="muted"> ({r.reviewer})</span> : null}
      </td>
    </tr>
  );
}

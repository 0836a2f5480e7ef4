/** @jsxImportSource hono/jsx */
/** Records: the tenant's intercepted HTTP calls, with filters; a detail with headers, body and proof. */
import type { Hono } from 'hono';
import { latestCheckpoint, type StoredCheckpoint, storedLeaf } from '../../ledger/index.js';
import {
  getIntercept,
  type InterceptRecord,
  isUuid,
  listIntercepts,
  REDACTED,
  type StoredHeaders,
} from '../../record/index.js';
import type { DashEnv, Deps } from '../context.js';
import { Csrf, Page, shortId, Time } from '../layout.js';
import type { UiSession } from '../sessions.js';
import { verifyEvidence } from '../verify.js';
import { BodyPreview, VerifyResult } from './shared.js';

const RECORDS_LIMIT = 100;

export function registerRecords(app: Hono<DashEnv>, deps: Deps): void {
  app.get('/records', async (c) => {
    const page = c.get('page');
    const session = c.get('session') as UiSession;
    const q = new URL(c.req.url).searchParams;
    const get = (k: string) => {
      const v = q.get(k)?.trim();
      return v === undefined || v === '' ? undefined : v;
    };
    const filters = { agent: get('agent'), action: get('action'), trace: get('trace'), since: get('since') };
    for (const [k, v] of Object.entries(filters)) {
      if (v !== undefined && (v.length > 500 || v.includes('\u0000')))
        return deps.badRequest(c, `The ${k} filter is too long.`);
    }
    let since: Date | undefined;
    if (filters.since !== undefined) {
      since = new Date(/(Z|[+-]\d{2}:?\d{2})$/i.test(filters.since) ? filters.since : `${filters.since}Z`);
      if (Number.isNaN(since.getTime()))
        return deps.badRequest(c, 'The since filter is not an ISO 8601 time.');
    }
    const rows = await listIntercepts(deps.store, {
      orgId: session.tenant,
      agentId: filters.agent,
      actionName: filters.action,
      traceId: filters.trace,
      since,
      limit: RECORDS_LIMIT,
      withBody: false,
    });
    const field = (name: keyof typeof filters, label: string) => (
      <div>
        <label for={`r-${name}`}>{label}</label>
        <input id={`r-${name}`} type="text" name={name} value={filters[name] ?? ''} />
      </div>
    );
    return deps.render(
      c,
      <Page ctx={page} title="Records" current="/records">
        <form class="card filters" method="get" action={`${page.base}/records`} aria-label="Filter records">
          {field('agent', 'Agent')}
          {field('action', 'Action')}
          {field('trace', 'Trace id')}
          {field('since', 'Since (UTC)')}
          <button type="submit">Filter</button>
        </form>
        <p class="muted">The newest {RECORDS_LIMIT} matching records.</p>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Started (UTC)</th>
                <th scope="col">Agent</th>
                <th scope="col">Action</th>
                <th scope="col">Call</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr>
                  <td>
                    <a href={`${page.base}/records/${r.id}`}>
                      <Time at={r.startedAt} />
                    </a>
                  </td>
                  <td>{r.agentId}</td>
                  <td>{r.actionName}</td>
                  <td>
                    {r.method} {r.url}
                  </td>
                  <td>{r.status ?? r.error ?? '-'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {rows.length === 0 ? <p class="muted">No records match.</p> : null}
      </Page>,
    );
  });

  app.get('/records/:id', async (c) => {
    const session = c.get('session') as UiSession;
    const r = await ownRecord(deps, session, c.req.param('id'));
    if (r === null) return deps.notFound(c, 'No such record.');
    return deps.render(c, await detail(deps, c.get('page'), session, r, null));
  });

  app.post('/records/:id/verify', async (c) => {
    const session = c.get('session') as UiSession;
    const r = await ownRecord(deps, session, c.req.param('id'));
    if (r === null) return deps.notFound(c, 'No such record.');
    const report = await verifyEvidence(deps, session.tenant, [], [r.id]);
    return deps.render(c, await detail(deps, c.get('page'), session, r, report));
  });
}

async function ownRecord(deps: Deps, session: UiSession, id: string): Promise<InterceptRecord | null> {
  if (!isUuid(id)) return null;
  return getIntercept(deps.store, id, { orgId: session.tenant });
}

async function detail(
  deps: Deps,
  page: Parameters<typeof Page>[0]['ctx'],
  session: UiSession,
  r: InterceptRecord,
  report: Awaited<ReturnType<typeof verifyEvidence>> | null,
) {
  const [leaf, checkpoint] = await Promise.all([
    storedLeaf(deps.store, r.orgId, r.id),
    latestCheckpoint(deps.store, r.orgId),
  ]);
  return (
    <Page ctx={page} title={`Record ${shortId(r.id)}`} current="/records">
      <section class="card">
        <p class="tight">
          <strong>{r.method}</strong> {r.url} → {r.status ?? r.error ?? '-'}
        </p>
        <dl class="kv">
          <dt>Record id</dt>
          <dd>
            <code>{r.id}</code>
          </dd>
          <dt>Agent / action</dt>
          <dd>
            {r.agentId} / {r.actionName}
          </dd>
          <dt>Started</dt>
          <dd>
            <Time at={r.startedAt} />
            {r.durationMs === null ? '' : ` (${Math.round(r.durationMs * 10) / 10} ms)`}
          </dd>
          <dt>Trace / span</dt>
          <dd>
            {r.traceId ? (
              <a href={`${page.base}/records?trace=${encodeURIComponent(r.traceId)}`}>{r.traceId}</a>
            ) : (
              '-'
            )}{' '}
            / {r.spanId ?? '-'}
          </dd>
          <dt>Body sha256</dt>
          <dd>
            <code>{r.bodySha256 ?? '-'}</code>
          </dd>
          <dt>Answered by</dt>
          <dd>
            {r.peer
              ? `${r.peer.address ?? '-'}:${r.peer.port ?? '-'}${r.peer.tls?.subject ? ` (${r.peer.tls.subject})` : ''}`
              : '-'}
          </dd>
          <dt>Proof status</dt>
          <dd>{proofStatus(leaf, checkpoint)}</dd>
        </dl>
      </section>
      <section class="card">
        <h2>Request headers</h2>
        <Headers h={r.requestHeaders} />
        <h2>Response headers</h2>
        {r.responseHeaders ? <Headers h={r.responseHeaders} /> : <p class="muted">No response.</p>}
        <h2>Response body</h2>
        <BodyPreview record={r} />
      </section>
      <section class="card">
        <h2>Proof</h2>
        <form method="post" action={`${page.base}/records/${r.id}/verify`}>
          <Csrf session={session} />
          <button type="submit">Verify this record</button>
        </form>
        {report ? <VerifyResult report={report} /> : null}
      </section>
    </Page>
  );
}

function proofStatus(leaf: { leafIndex: number } | null, cp: StoredCheckpoint | null): string {
  if (leaf === null) return 'not in the log';
  if (cp === null || leaf.leafIndex >= cp.tree_size)
    return `leaf ${leaf.leafIndex}, not yet covered by a signed checkpoint`;
  return `leaf ${leaf.leafIndex}, covered by the checkpoint of tree size ${cp.tree_size} (press verify to check it)`;
}

function Headers(props: { h: StoredHeaders }) {
  const entries = Object.entries(props.h);
  if (entries.length === 0) return <p class="muted">None.</p>;
  return (
    <dl class="kv">
      {entries.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>
            {(Array.isArray(v) ? v : [v]).map((one, i) => (
              <>
                {i > 0 ? ', ' : ''}
                {one === REDACTED ? (
                  <span class="redacted" title="credential: redacted before it was stored">
                    redacted
                  </span>
                ) : (
                  one
                )}
              </>
            ))}
          </dd>
        </>
      ))}
    </dl>
  );
}

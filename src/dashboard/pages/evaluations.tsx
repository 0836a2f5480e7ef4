/** @jsxImportSource hono/jsx */
/** Evaluations: the handoff verdicts the eval service kept (provably_evaluations), per claim. */
import type { Hono } from 'hono';
import type { EvaluationResult } from '../../eval/index.js';
import { isUuid } from '../../record/index.js';
import type { DashEnv, Deps } from '../context.js';
import { Page, shortId, Time } from '../layout.js';
import type { UiSession } from '../sessions.js';

const LIMIT = 100;

export function registerEvaluations(app: Hono<DashEnv>, deps: Deps): void {
  app.get('/evaluations', async (c) => {
    const page = c.get('page');
    const session = c.get('session') as UiSession;
    const res = await deps.store.query<Record<string, unknown>>(
      `SELECT id, run_id, task, outcome, claim_count, created_at FROM provably_evaluations
       WHERE org_id = $1 ORDER BY created_at DESC LIMIT $2`,
      [session.tenant, LIMIT],
    );
    return deps.render(
      c,
      <Page ctx={page} title="Evaluations" current="/evaluations">
        <p class="muted">The newest {LIMIT} handoff evaluations.</p>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Received (UTC)</th>
                <th scope="col">Outcome</th>
                <th scope="col">Claims</th>
                <th scope="col">Run</th>
                <th scope="col">Task</th>
              </tr>
            </thead>
            <tbody>
              {res.rows.map((r) => (
                <tr>
                  <td>
                    <a href={`${page.base}/evaluations/${String(r.id)}`}>
                      <Time at={r.created_at as Date} />
                    </a>
                  </td>
                  <td>
                    <span class={`badge ${String(r.outcome)}`}>{String(r.outcome)}</span>
                  </td>
                  <td>{String(r.claim_count)}</td>
                  <td>{r.run_id === null ? '-' : String(r.run_id)}</td>
                  <td>{r.task === null ? '-' : String(r.task)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {res.rows.length === 0 ? <p class="muted">No evaluations yet.</p> : null}
      </Page>,
    );
  });

  app.get('/evaluations/:id', async (c) => {
    const page = c.get('page');
    const session = c.get('session') as UiSession;
    const id = c.req.param('id');
    if (!isUuid(id)) return deps.notFound(c, 'No such evaluation.');
    const res = await deps.store.query<Record<string, unknown>>(
      `SELECT id, run_id, task, outcome, claim_count, result, created_at FROM provably_evaluations
       WHERE id = $1 AND org_id = $2`,
      [id, session.tenant],
    );
    const row = res.rows[0];
    if (row === undefined) return deps.notFound(c, 'No such evaluation.');
    const result = row.result as EvaluationResult;
    return deps.render(
      c,
      <Page ctx={page} title={`Evaluation ${shortId(id)}`} current="/evaluations">
        <section class="card">
          <dl class="kv">
            <dt>Outcome</dt>
            <dd>
              <span class={`badge ${String(row.outcome)}`}>{String(row.outcome)}</span>
            </dd>
            <dt>Run / task</dt>
            <dd>
              {row.run_id === null ? '-' : String(row.run_id)} / {row.task === null ? '-' : String(row.task)}
            </dd>
            <dt>Received</dt>
            <dd>
              <Time at={row.created_at as Date} />
            </dd>
          </dl>
        </section>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Verdict</th>
                <th scope="col">Action</th>
                <th scope="col">Record</th>
                <th scope="col">Check</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {(result.per_claim ?? []).map((cl) => (
                <tr>
                  <td>{cl.index}</td>
                  <td>
                    <span class={`badge ${cl.verdict}`}>{cl.verdict}</span>
                  </td>
                  <td>{cl.action_name}</td>
                  <td>
                    {isUuid(cl.query_record_id) ? (
                      <a href={`${page.base}/records/${cl.query_record_id}`}>{shortId(cl.query_record_id)}</a>
                    ) : (
                      cl.query_record_id
                    )}
                  </td>
                  <td>{cl.check}</td>
                  <td>
                    {cl.reason}
                    {cl.claimed_value !== null ? <div class="muted">claimed {cl.claimed_value}</div> : null}
                    {cl.indexed_value !== null ? <div class="muted">recorded {cl.indexed_value}</div> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {(result.errors ?? []).length > 0 ? (
          <section class="card">
            <h2>Errors</h2>
            <ul>
              {result.errors.map((e) => (
                <li class="bad">{JSON.stringify(e)}</li>
              ))}
            </ul>
          </section>
        ) : null}
      </Page>,
    );
  });
}

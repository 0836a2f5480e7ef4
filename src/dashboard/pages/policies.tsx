/** @jsxImportSource hono/jsx */
/**
 * Policies: the tenant's serving policy set and its history (reviewers read, admins edit). An
 * edit is compiled (and validated against its schema) before it is stored; a refused set is
 * shown back with each problem's policy id, line and column, and the serving version stays.
 */
import type { Hono } from 'hono';
import { PolicySetError, ProvablyConfigError } from '../../errors/index.js';
import type { DashEnv, Deps } from '../context.js';
import { Csrf, Notice, Page, type PageContext, Time } from '../layout.js';
import type { DashboardPolicies, DashboardPolicySet } from '../options.js';
import type { UiSession } from '../sessions.js';

interface Refusal {
  message: string;
  problems: { policyId: string; line: number | null; column: number | null; message: string }[];
}

export function registerPolicies(app: Hono<DashEnv>, deps: Deps): void {
  app.get('/policies', async (c) => {
    const session = c.get('session') as UiSession;
    const policies = deps.policies;
    if (policies === null) return deps.notFound(c, 'Policies are not managed by this server.');
    const q = new URL(c.req.url).searchParams;
    const saved = q.get('saved');
    return deps.render(
      c,
      await view(deps, policies, c.get('page'), session, {
        notice: saved && /^\d+$/.test(saved) ? `Saved: version ${saved} now serves.` : null,
      }),
    );
  });

  app.post('/policies', async (c) => {
    const session = c.get('session') as UiSession;
    const policies = deps.policies;
    if (policies === null) return deps.notFound(c, 'Policies are not managed by this server.');
    if (session.role !== 'admin') return deps.forbidden(c, 'Only an admin key can change policies.');
    const body = await c.req.parseBody();
    const text = typeof body.text === 'string' ? body.text.replace(/\r\n/g, '\n') : '';
    const rawSchema = typeof body.schema === 'string' ? body.schema.replace(/\r\n/g, '\n') : '';
    const schema = rawSchema.trim() === '' ? null : rawSchema;
    try {
      const put = await policies.put(deps.store, {
        tenant: session.tenant,
        text,
        schema,
        createdBy: session.reviewer,
      });
      return c.redirect(`${c.get('page').base}/policies?saved=${put.version}`, 303);
    } catch (err) {
      let refusal: Refusal;
      if (err instanceof PolicySetError) {
        refusal = {
          message: 'The policy set was refused; the serving version is unchanged.',
          problems: err.problems.map((p) => ({
            policyId: p.policyId ?? 'schema',
            line: p.line ?? null,
            column: p.column ?? null,
            message: p.message,
          })),
        };
      } else if (err instanceof ProvablyConfigError) {
        refusal = { message: err.message, problems: [] };
      } else {
        throw err;
      }
      return deps.render(
        c,
        await view(deps, policies, c.get('page'), session, { draft: { text, schema: rawSchema }, refusal }),
        400,
      );
    }
  });
}

async function view(
  deps: Deps,
  policies: DashboardPolicies,
  page: PageContext,
  session: UiSession,
  o: { notice?: string | null; draft?: { text: string; schema: string }; refusal?: Refusal },
) {
  const [current, history] = await Promise.all([
    policies.current(deps.store, session.tenant),
    policies.history(deps.store, session.tenant),
  ]);
  const admin = session.role === 'admin';
  return (
    <Page ctx={page} title="Policies" current="/policies">
      {o.notice ? <Notice kind="ok">{o.notice}</Notice> : null}
      {o.refusal ? (
        <div class="notice bad" role="alert">
          <p class="tight">{o.refusal.message}</p>
          <ul class="problems">
            {o.refusal.problems.map((p) => (
              <li>
                <strong>{p.policyId}</strong>
                {p.line !== null ? ` line ${p.line}, column ${p.column ?? '?'}` : ''}: {p.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <ServingSet current={current} />
      {admin ? (
        <form class="card" method="post" action={`${page.base}/policies`}>
          <Csrf session={session} />
          <label for="policy-text">Cedar policy set (validated on save)</label>
          {/* The leading newline: HTML drops one right after <textarea>, so text starting with one survives. */}
          <textarea id="policy-text" name="text" spellcheck={false} required>
            {`\n${o.draft?.text ?? current?.text ?? ''}`}
          </textarea>
          <label for="policy-schema">Cedar schema (optional)</label>
          <textarea id="policy-schema" name="schema" spellcheck={false} class="short">
            {`\n${o.draft?.schema ?? current?.schema ?? ''}`}
          </textarea>
          <p>
            <button type="submit">Save as a new version</button>
          </p>
        </form>
      ) : (
        <p class="muted">Only an admin key can change the policy set.</p>
      )}
      <section class="card">
        <h2>History</h2>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Digest (what decisions record)</th>
                <th scope="col">Created</th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              {history.map((h) => (
                <tr>
                  <td>{h.version}</td>
                  <td>
                    <code>{h.digest}</code>
                  </td>
                  <td>
                    <Time at={h.createdAt} />
                  </td>
                  <td>{h.createdBy}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </Page>
  );
}

function ServingSet(props: { current: DashboardPolicySet | null }) {
  const cur = props.current;
  if (cur === null)
    return <Notice kind="bad">No policy set serves: every call is blocked (default deny).</Notice>;
  return (
    <section class="card">
      <h2>Serving: version {cur.version}</h2>
      <p class="muted tight">
        <code>{cur.digest}</code> · by {cur.createdBy} · <Time at={cur.createdAt} />
      </p>
      <pre class="policy">{cur.text}</pre>
    </section>
  );
}

/** @jsxImportSource hono/jsx */
/**
 * The page shell and small shared views. Everything is rendered by Hono JSX, which escapes every
 * interpolated value: no view here builds HTML from strings.
 */
import type { Child } from 'hono/jsx';
import { REDACTED_PARAM } from '../policy/index.js';
import type { UiSession } from './sessions.js';

export interface PageContext {
  base: string;
  session: UiSession | null;
  pollMs: number;
}

/** [path, label, admin only] */
const NAV: readonly [string, string, boolean][] = [
  ['/', 'Escalations', false],
  ['/audit', 'Audit log', false],
  ['/records', 'Records', false],
  ['/evaluations', 'Evaluations', false],
  ['/policies', 'Policies', false],
];

export function Page(props: { ctx: PageContext; title: string; current?: string; children?: Child }) {
  const { ctx } = props;
  const s = ctx.session;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · provably`}</title>
        <link rel="stylesheet" href={`${ctx.base}/static/style.css`} />
        <script src={`${ctx.base}/static/app.js`} defer />
      </head>
      <body data-base={ctx.base} data-poll-ms={String(ctx.pollMs)}>
        <header class="top">
          <a href={ctx.base || '/'}>
            <strong>provably</strong>
          </a>
          {s ? (
            <>
              <nav aria-label="Main">
                {NAV.filter(([, , admin]) => !admin || s.role === 'admin').map(([path, label]) => (
                  <a
                    href={path === '/' ? ctx.base || '/' : `${ctx.base}${path}`}
                    aria-current={props.current === path ? 'page' : undefined}
                  >
                    {label}
                  </a>
                ))}
              </nav>
              <span class="who">
                {s.reviewer} · {s.role} · tenant {s.tenant}
              </span>
              <form method="post" action={`${ctx.base}/logout`}>
                <input type="hidden" name="csrf" value={s.csrf} />
                <button type="submit">Sign out</button>
              </form>
            </>
          ) : null}
        </header>
        <main>
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

export function Notice(props: { kind?: 'ok' | 'bad' | 'info'; children?: Child }) {
  return (
    <div class={`notice ${props.kind ?? 'info'}`} role="status">
      {props.children}
    </div>
  );
}

export function Time(props: { at: Date | null }) {
  if (props.at === null) return <span class="muted">-</span>;
  const iso = props.at.toISOString();
  return <time datetime={iso}>{iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>;
}

export function DecisionBadge(props: { decision: string | null; mode?: string }) {
  if (props.decision === null) return <span class="muted">outcome</span>;
  return (
    <span class={`badge ${props.decision}`}>
      {props.decision}
      {props.mode === 'log_only' ? ' (log-only)' : ''}
    </span>
  );
}

/**
 * Pretty JSON whose redacted values (stored as "[REDACTED]") are marked as such rather than
 * shown as an ordinary string.
 */
export function JsonView(props: { value: unknown }) {
  return <pre class="json">{renderJson(props.value, 0)}</pre>;
}

function renderJson(v: unknown, depth: number): Child {
  const pad = '  '.repeat(depth + 1);
  const end = '  '.repeat(depth);
  if (v === REDACTED_PARAM) {
    return (
      <span class="redacted" title="redacted before it was stored">
        redacted
      </span>
    );
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return (
      <>
        {'[\n'}
        {v.map((item, i) => (
          <>
            {pad}
            {renderJson(item, depth + 1)}
            {i < v.length - 1 ? ',\n' : '\n'}
          </>
        ))}
        {`${end}]`}
      </>
    );
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return '{}';
    return (
      <>
        {'{\n'}
        {entries.map(([k, item], i) => (
          <>
            {pad}
            {`${JSON.stringify(k)}: `}
            {renderJson(item, depth + 1)}
            {i < entries.length - 1 ? ',\n' : '\n'}
          </>
        ))}
        {`${end}}`}
      </>
    );
  }
  return JSON.stringify(v) ?? 'null';
}

/** A hidden CSRF field for a form of this session. */
export function Csrf(props: { session: UiSession }) {
  return <input type="hidden" name="csrf" value={props.session.csrf} />;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** @jsxImportSource hono/jsx */
/**
 * The reviewer dashboard as a Hono app, mounted by the gateway under /ui
 * (`app.route('/ui', createDashboardApp(options))`). Server-rendered; every page and action is
 * scoped to the tenant of the key that signed in.
 *
 * Guards, in order: security headers (a CSP that allows only this app's own script and
 * stylesheet: no inline script or style can run), no caching of pages, the session from the
 * HttpOnly cookie, then for every POST a same-origin check (Origin header, when the browser
 * sends one) and the session's CSRF token.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { secureHeaders } from 'hono/secure-headers';
import { diag } from '../diag/index.js';
import type { Signer } from '../ledger/index.js';
import { trustedKeysOf } from '../ledger/index.js';
import { APP_JS, STYLE_CSS } from './assets.js';
import type { DashContext, DashEnv, Deps, Renderable } from './context.js';
import { Notice, Page } from './layout.js';
import { type DashboardOptions, DEFAULT_BASE_PATH, DEFAULT_SESSION_TTL_SECONDS } from './options.js';
import { registerAudit } from './pages/audit.js';
import { registerEvaluations } from './pages/evaluations.js';
import { registerPolicies } from './pages/policies.js';
import { registerQueue } from './pages/queue.js';
import { registerRecords } from './pages/records.js';
import { AUDIT_PAGE_SIZE } from './queries.js';
import { createSession, csrfMatches, deleteSession, readSession, reviewerOf } from './sessions.js';

export const SESSION_COOKIE = 'provably_ui_session';
const FORM_LIMIT_BYTES = 1024 * 1024;

export function createDashboardApp(options: DashboardOptions): Hono<DashEnv> {
  const { store } = options;
  const base = (options.basePath ?? DEFAULT_BASE_PATH).replace(/\/+$/, '');
  const ttl = options.sessionTtlSeconds ?? DEFAULT_SESSION_TTL_SECONDS;
  const pollMs = Math.max(250, Math.round((options.pollSeconds ?? 2) * 1000));
  let signer: Signer | null | undefined =
    typeof options.signer === 'function' ? undefined : (options.signer ?? null);

  const deps: Deps = {
    store,
    policies: options.policies ?? null,
    auditPageSize: Math.min(500, Math.max(1, Math.trunc(options.auditPageSize ?? AUDIT_PAGE_SIZE))),
    signer() {
      if (signer === undefined) {
        try {
          signer = (options.signer as () => Signer)();
        } catch (err) {
          diag.warn(`dashboard: the signing key could not be loaded: ${(err as Error).message}`);
          return null;
        }
      }
      return signer;
    },
    trustedKeys() {
      if (options.trustedKeys) return options.trustedKeys;
      const s = deps.signer();
      return s ? trustedKeysOf(s) : null;
    },
    async render(c, node, status = 200, _page = true) {
      const html = await (node as Renderable).toString();
      return c.html(_page ? `<!doctype html>${html}` : html, status);
    },
    notFound: (c, message) => page(c, 'Not found', message, 404),
    badRequest: (c, message) => page(c, 'Bad request', message, 400),
    forbidden: (c, message) => page(c, 'Forbidden', message, 403),
  };

  const page = (c: DashContext, title: string, message: string, status: 400 | 403 | 404 | 503) =>
    deps.render(
      c,
      <Page ctx={c.get('page') ?? { base, session: null, pollMs }} title={title}>
        <Notice kind="bad">{message}</Notice>
        <p>
          <a href={base || '/'}>Back to the queue</a>
        </p>
      </Page>,
      status,
    );

  const app = new Hono<DashEnv>();

  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      // same-origin, not no-referrer: under no-referrer Chromium posts forms with `Origin: null`, which
      // the same-origin check must refuse.
      referrerPolicy: 'same-origin',
      crossOriginEmbedderPolicy: false,
    }),
  );

  app.get('/static/style.css', (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.body(STYLE_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });
  app.get('/static/app.js', (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.body(APP_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
  });

  app.use(bodyLimit({ maxSize: FORM_LIMIT_BYTES, onError: (c) => c.text('payload too large', 413) }));

  app.use(async (c, next) => {
    c.header('Cache-Control', 'no-store');
    c.set('page', { base, session: null, pollMs });
    let session = null;
    try {
      const token = getCookie(c, SESSION_COOKIE);
      session = await readSession(store, token);
      if (session !== null && options.isKeyActive && !(await options.isKeyActive(store, session.keyId))) {
        // The key was revoked after sign-in: its sessions end with it.
        await deleteSession(store, token);
        session = null;
      }
    } catch (err) {
      diag.warn(`dashboard: sessions cannot be read: ${(err as Error).message}`);
      return page(c, 'Unavailable', 'The store cannot be reached. Try again shortly.', 503);
    }
    c.set('session', session);
    c.set('page', { base, session, pollMs });
    if (c.req.method === 'POST' && !sameOrigin(c)) {
      return page(c, 'Forbidden', 'This form was posted from another site.', 403);
    }
    const path = c.req.path.slice(c.req.path.indexOf(base) === 0 ? base.length : 0) || '/';
    if (path === '/login') return next();
    if (session === null) {
      if (c.req.method === 'GET' || c.req.method === 'HEAD') return c.redirect(`${base}/login`, 303);
      return page(c, 'Forbidden', 'Sign in first.', 403);
    }
    if (c.req.method === 'POST') {
      const body = await c.req.parseBody({ all: true });
      if (!csrfMatches(session, body.csrf)) {
        return page(
          c,
          'Forbidden',
          'The form token is missing or wrong (CSRF check). Reload the page and retry.',
          403,
        );
      }
    }
    return next();
  });

  app.get('/login', (c) => loginPage(c, null, 200));

  app.post('/login', async (c) => {
    const body = await c.req.parseBody();
    const key = typeof body.key === 'string' ? body.key.trim() : '';
    if (key === '') return loginPage(c, 'Enter an API key.', 400);
    let principal: Awaited<ReturnType<DashboardOptions['resolveApiKey']>>;
    try {
      principal = await options.resolveApiKey(store, key);
    } catch (err) {
      diag.warn(`dashboard: an API key could not be checked: ${(err as Error).message}`);
      return loginPage(c, 'The store cannot be reached. Try again shortly.', 503);
    }
    if (principal === null) return loginPage(c, 'Unknown or revoked API key.', 403);
    if (principal.role !== 'reviewer' && principal.role !== 'admin') {
      return loginPage(c, 'Agent keys cannot sign in: use a reviewer or admin key.', 403);
    }
    const { token } = await createSession(store, {
      tenant: principal.tenant,
      role: principal.role,
      keyId: principal.keyId,
      reviewer: reviewerOf(key, principal.keyName, principal.keyPrefix ?? principal.keyId),
      ttlSeconds: ttl,
    });
    setCookie(c, SESSION_COOKIE, token, {
      path: base || '/',
      httpOnly: true,
      sameSite: 'Strict',
      secure: options.secureCookies ?? isHttps(c),
      maxAge: ttl,
    });
    return c.redirect(base || '/', 303);
  });

  app.post('/logout', async (c) => {
    await deleteSession(store, getCookie(c, SESSION_COOKIE));
    deleteCookie(c, SESSION_COOKIE, { path: base || '/', secure: options.secureCookies ?? isHttps(c) });
    return c.redirect(`${base}/login`, 303);
  });

  registerQueue(app, deps);
  registerAudit(app, deps);
  registerRecords(app, deps);
  registerEvaluations(app, deps);
  registerPolicies(app, deps);

  app.notFound((c) => deps.notFound(c, 'No such page.'));
  app.onError((err, c) => {
    diag.warn(`dashboard: ${c.req.method} ${c.req.path} failed: ${err.message}`);
    return page(c, 'Unavailable', 'The request could not be completed (the store may be unreachable).', 503);
  });

  function loginPage(c: DashContext, error: string | null, status: 200 | 400 | 403 | 503) {
    return deps.render(
      c,
      <Page ctx={c.get('page')} title="Sign in">
        {error ? <Notice kind="bad">{error}</Notice> : null}
        <form class="card" method="post" action={`${base}/login`}>
          <label for="key">Reviewer or admin API key</label>
          <input id="key" name="key" type="password" autocomplete="off" required />
          <p class="muted">
            The key is exchanged once for a session; it is never shown or stored by the dashboard.
          </p>
          <button type="submit">Sign in</button>
        </form>
      </Page>,
      status,
    );
  }

  return app;
}

function isHttps(c: DashContext): boolean {
  return c.req.url.startsWith('https:') || c.req.header('x-forwarded-proto') === 'https';
}

/** False when the browser says the POST came from another origin. */
function sameOrigin(c: DashContext): boolean {
  const origin = c.req.header('origin');
  if (origin === undefined) return true;
  const host = c.req.header('host');
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** The types the dashboard's pages share: the Hono env (session, page context) and their deps. */
import type { Context } from 'hono';
import type { Signer, TrustedKeys } from '../ledger/index.js';
import type { Store } from '../store/types.js';
import type { PageContext } from './layout.js';
import type { DashboardPolicies } from './options.js';
import type { UiSession } from './sessions.js';

export interface DashEnv {
  Variables: {
    /** Null only on the sign-in pages and static files. */
    session: UiSession | null;
    page: PageContext;
  };
}

export type DashContext = Context<DashEnv>;

/** A rendered JSX tree (Hono's JSXNode: its toString may be async). */
export interface Renderable {
  toString(): string | Promise<string>;
}

export interface Deps {
  store: Store;
  policies: DashboardPolicies | null;
  auditPageSize: number;
  signer(): Signer | null;
  trustedKeys(): TrustedKeys | null;
  render(
    c: DashContext,
    node: Renderable,
    status?: 200 | 400 | 403 | 404 | 503,
    page?: boolean,
  ): Promise<Response>;
  notFound(c: DashContext, message: string): Promise<Response>;
  badRequest(c: DashContext, message: string): Promise<Response>;
  forbidden(c: DashContext, message: string): Promise<Response>;
}

/**
 * dashboard — the reviewer dashboard (issue #10): server-rendered pages the gateway mounts under
 * /ui. Reviewers sign in with an API key, decide escalations, read the audit log, records and
 * evaluations, and verify proofs. Sits on top like src/server: imports policy, ledger, record
 * and store; nothing imports it but the server that mounts it.
 */
export { createDashboardApp, SESSION_COOKIE } from './app.js';
export type { DashboardOptions, DashboardPrincipal } from './options.js';
export { DEFAULT_BASE_PATH, DEFAULT_SESSION_TTL_SECONDS } from './options.js';

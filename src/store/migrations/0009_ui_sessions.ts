/**
 * Migration 9: reviewer dashboard sessions (src/dashboard).
 *
 * A reviewer or admin API key is exchanged once for a random session token held in an HttpOnly
 * cookie. Only the token's SHA-256 is stored, so a copy of this table (a backup, a read replica,
 * a superuser's SELECT) cannot be replayed as a cookie. The session carries what the key said at
 * sign-in (tenant, role, reviewer identity), never the key. Rows are deleted on sign-out and
 * when they expire; nothing else changes them.
 */
import type { Migration } from './types.js';

export const migration0009: Migration = {
  version: 9,
  name: 'ui_sessions',
  sql: `
CREATE TABLE provably_ui_sessions (
  token_sha256 text PRIMARY KEY,
  org_id text NOT NULL,
  role text NOT NULL CHECK (role IN ('reviewer', 'admin')),
  key_id text NOT NULL,
  reviewer text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX provably_ui_sessions_expiry ON provably_ui_sessions (expires_at);
`,
};

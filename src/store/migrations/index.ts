import { migration0001 } from './0001_foundation.js';
import { migration0002 } from './0002_ledger.js';
import { migration0003 } from './0003_evaluations.js';
import { migration0004 } from './0004_ledger_heads.js';
import { migration0006 } from './0006_policy_decisions.js';
import type { Migration } from './types.js';

export type { Migration } from './types.js';

/**
 * PLACEHOLDER on branch `policy` only: version 5 belongs to leafv2 (peer columns, leaf version,
 * leaf kinds). The runner refuses gaps, so this stands in until the merge replaces it with
 * leafv2's 0005; it adds only the part policy relies on, as leafv2 announced it:
 * provably_ledger_leaves.leaf_kind text NOT NULL DEFAULT 'intercept'.
 */
const reservedLeafv2: Migration = {
  version: 5,
  name: 'reserved_leafv2',
  sql: "ALTER TABLE provably_ledger_leaves ADD COLUMN leaf_kind text NOT NULL DEFAULT 'intercept';",
};

/** Every migration, in order. Append new ones here. */
export const MIGRATIONS: readonly Migration[] = [
  migration0001,
  migration0002,
  migration0003,
  migration0004,
  reservedLeafv2,
  migration0006,
];

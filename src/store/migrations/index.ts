import { migration0001 } from './0001_foundation.js';
import { migration0002 } from './0002_ledger.js';
import { migration0003 } from './0003_evaluations.js';
import { migration0004 } from './0004_ledger_heads.js';
import { migration0005 } from './0005_leaf_peer.js';
import { migration0006 } from './0006_policy_decisions.js';
import { migration0007 } from './0007_gateway.js';
import { migration0008 } from './0008_decision_append.js';
import type { Migration } from './types.js';

export type { Migration } from './types.js';

/** Every migration, in order. Append new ones here. */
export const MIGRATIONS: readonly Migration[] = [
  migration0001,
  migration0002,
  migration0003,
  migration0004,
  migration0005,
  migration0006,
  migration0007,
  migration0008,
];

/**
 * PLACEHOLDER on branch dashboard only, so migration 9 passes the gap-free check before branch
 * p8 (which owns migration 8, `decision_append`) is merged. On merge take p8's file.
 */
import type { Migration } from './types.js';

export const migration0008: Migration = {
  version: 8,
  name: 'decision_append',
  sql: 'SELECT 1',
};

/**
 * PLACEHOLDER for migration 7 (gateway tenants and API keys), owned by branch gwserver: it holds
 * the number so that migration 8 can be tested on this branch (the list must be gap-free). On
 * merge, take gwserver's file and drop this one.
 */
import type { Migration } from './types.js';

export const migration0007: Migration = {
  version: 7,
  name: 'gateway',
  sql: 'SELECT 1;',
};

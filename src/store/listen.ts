/**
 * LISTEN on a notification channel of the store, for the parts that wake on database events
 * (escalation decisions, policy changes): on PostgreSQL a dedicated connection (a pooled one
 * would be handed to other queries and lose its LISTEN), on PGlite the instance's own
 * notification hook. The caller owns what happens on a notice and on a lost connection.
 */

import type { ProvablyStore } from './open.js';
import type { PgliteStore } from './pglite.js';
import type { PostgresStore } from './postgres.js';
import type { Store } from './types.js';

export interface ChannelHandlers {
  /** A notice on the channel (its payload; undefined when it has none). */
  notify(payload: string | undefined): void;
  /**
   * The PostgreSQL connection was lost after LISTEN took effect (called once; never after
   * stop(), never for a failure during the start: that one rejects instead).
   */
  dropped(err?: unknown): void;
}

/** Stops listening; never rejects. */
export type StopListening = () => Promise<void>;

/**
 * Starts listening; resolves once LISTEN is active, with its stop. Resolves undefined for a
 * store that has no notifications (neither PostgreSQL nor PGlite underneath). `channel` must be
 * a plain SQL identifier (it is provably's own constant).
 */
export async function listenChannel(
  store: Store,
  channel: string,
  on: ChannelHandlers,
): Promise<StopListening | undefined> {
  const driver = (store as Partial<ProvablyStore>).driver ?? (store as PostgresStore | PgliteStore);
  if (driver.backend === 'postgres' && 'url' in driver) return listenPostgres(driver, channel, on);
  if (driver.backend === 'pglite' && 'instance' in driver) return listenPglite(store, driver, channel, on);
  return undefined;
}

async function listenPostgres(
  driver: PostgresStore,
  channel: string,
  on: ChannelHandlers,
): Promise<StopListening> {
  const pg = (await import('pg')).default ?? (await import('pg'));
  const client = new pg.Client({ connectionString: driver.url, connectionTimeoutMillis: 5000 });
  // 'starting' until LISTEN is active (a failure then is the start's rejection), 'live' after,
  // 'over' once dropped or stopped: the caller hears of a drop at most once.
  let state: 'starting' | 'live' | 'over' = 'starting';
  const stop: StopListening = async () => {
    state = 'over';
    client.removeAllListeners('end');
    client.on('error', () => {});
    await client.end().catch(() => {});
  };
  const dropped = (err?: unknown) => {
    if (state !== 'live') return;
    state = 'over';
    client.end().catch(() => {});
    on.dropped(err);
  };
  client.on('error', dropped);
  client.on('end', () => dropped());
  client.on('notification', (m) => {
    if (m.channel === channel) on.notify(m.payload);
  });
  try {
    await client.connect();
    await client.query(`LISTEN ${channel}`);
  } catch (err) {
    await stop();
    throw err;
  }
  state = 'live';
  return stop;
}

async function listenPglite(
  store: Store,
  driver: PgliteStore,
  channel: string,
  on: ChannelHandlers,
): Promise<StopListening> {
  const db = await driver.instance();
  const off = db.onNotification((name, payload) => {
    if (name === channel) on.notify(payload);
  });
  try {
    await store.query(`LISTEN ${channel}`);
  } catch (err) {
    off();
    throw err;
  }
  return async () => {
    off();
    await store.query(`UNLISTEN ${channel}`).catch(() => {});
  };
}

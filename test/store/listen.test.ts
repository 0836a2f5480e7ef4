// listenChannel: notices reach the handler on both stores; on PostgreSQL a lost listening
// connection is reported once (never after stop(), never for a start that failed: that rejects).
import { expect, it } from 'vitest';
import { listenChannel } from '../../src/store/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';

const CHANNEL = 'provably_test_listen';

async function eventually(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describeEachBackend('listenChannel', (backend) => {
  const store = useTestStore(backend);

  it('delivers notices on its channel only, and none after stop()', async () => {
    const heard: (string | undefined)[] = [];
    const dropped: unknown[] = [];
    const stop = await listenChannel(store(), CHANNEL, {
      notify: (p) => heard.push(p),
      dropped: (err) => dropped.push(err),
    });
    expect(stop).toBeTypeOf('function');
    await store().query(`SELECT pg_notify('${CHANNEL}', 'one'), pg_notify('provably_other', 'x')`);
    await store().query(`NOTIFY ${CHANNEL}`);
    await eventually(() => heard.length >= 2, 'two notices');
    await stop?.();
    await store().query(`SELECT pg_notify('${CHANNEL}', 'late')`);
    await new Promise((r) => setTimeout(r, 200));
    expect(heard.map((p) => p ?? '')).toEqual(['one', '']);
    expect(dropped).toEqual([]);
  });

  if (backend.name === 'postgres') {
    it('reports a killed listening connection once, and then hears nothing', async () => {
      const heard: (string | undefined)[] = [];
      let dropped = 0;
      const stop = await listenChannel(store(), CHANNEL, {
        notify: (p) => heard.push(p),
        dropped: () => {
          dropped++;
        },
      });
      const killed = await store().raw.query<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND query = 'LISTEN ${CHANNEL}'`,
      );
      expect(killed.rows[0]?.n).toBe(1);
      await eventually(() => dropped > 0, 'the drop');
      await store().query(`SELECT pg_notify('${CHANNEL}', 'after')`);
      await new Promise((r) => setTimeout(r, 200));
      await stop?.();
      expect(dropped).toBe(1);
      expect(heard).toEqual([]);
    });
  }
});

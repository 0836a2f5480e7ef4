/**
 * End to end: a governed call's row is committed BEFORE the caller's read of the body resolves.
 * The agent looks from inside (the only way on the single-process embedded store): it observes
 * the INSERTs completing on the public getDefaultStore() object the preload writes through, and
 * reads the row back with listIntercepts, right after the read. On PostgreSQL the test also looks
 * from ANOTHER process while the agent is paused right after the read — proof of a real commit,
 * not of a row visible only to the writer's own connection.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listIntercepts } from '../../src/record/index.js';
import { type CountingServer, startCountingServer } from '../helpers/counting-server.js';
import { runAgent, startAgent } from './child.js';
import { describeE2E, useE2EStores } from './stores.js';

interface Check {
  client: string;
  actionName: string;
  bodyLength: number;
  rowsSeenInProcess: number;
  insertCompletedBeforeRead: boolean;
  insertsObserved: number;
  row: { id: string; bodySize: number; status: number } | null;
}

const CLIENTS = [
  'fetch text()',
  'fetch arrayBuffer()',
  'node:http end',
  'node:http agent:false',
  'node:http Connection: close',
  'node:http createConnection',
  'node:http Agent subclass',
  'axios',
  'got',
  'undici request body.text()',
];
const BYTES = 200_000;

let server: CountingServer;
beforeAll(async () => {
  server = await startCountingServer();
});
afterAll(async () => {
  await server?.close();
});

describeE2E('durable before the end of the body', (backend) => {
  const stores = useE2EStores(backend);

  it('the row is in the store when the caller’s body read resolves (seen from the agent itself)', async () => {
    const store = await stores.fresh();
    await store.trust(`${server.url}/big`);
    const run = await runAgent<{ checks: Check[] }>('durable.mjs', {
      env: store.env({ TRUSTED: server.url }),
    });
    expect(run.result.checks.map((c) => c.client)).toEqual(CLIENTS);
    for (const c of run.result.checks) {
      expect(c, c.client).toMatchObject({
        bodyLength: BYTES,
        rowsSeenInProcess: 1,
        insertCompletedBeforeRead: true,
        row: { bodySize: BYTES, status: 200 },
      });
    }
    // The observation really saw the writes (one INSERT-ed row per call so far).
    expect(run.result.checks.map((c) => c.insertsObserved)).toEqual(CLIENTS.map((_, i) => i + 1));
    const rows = await store.rows();
    expect(rows.map((r) => r.id).sort()).toEqual(run.result.checks.map((c) => c.row?.id).sort());
  });

  if (backend === 'postgres') {
    it('… and from another process while the agent is paused right after the read', async () => {
      const store = await stores.fresh();
      await store.trust(`${server.url}/big`);
      const agent = startAgent<{ checks: Check[] }>('durable.mjs', {
        env: store.env({ TRUSTED: server.url, WAIT: '1' }),
        stdin: true,
      });
      await store.withStore(async (db) => {
        for (const client of CLIENTS) {
          const event = await agent.next('body-resolved');
          expect(event.client).toBe(client);
          const rows = await listIntercepts(db, { orgId: store.orgId, actionName: `durable ${client}` });
          expect(
            rows.map((r) => [r.id, r.bodySize]),
            client,
          ).toEqual([[(event.row as { id: string }).id, BYTES]]);
          agent.send('continue');
        }
      });
      const run = await agent.done;
      expect(run.result.checks).toHaveLength(CLIENTS.length);
    });
  }
});

// migrate() tries one lock-free read first (the schema is usually current). A database that does
// not answer must fail it at once, not be tried a second time by the full path (a second
// connect timeout): a real TCP server that accepts and never speaks counts the attempts.
import { createServer, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { ProvablyStoreError } from '../../src/errors/index.js';
import { migrate, openStore } from '../../src/store/index.js';

it('a silent database fails migrate with connection-refused after one connection attempt', async () => {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const store = openStore({
    backend: 'postgres',
    databaseUrl: `postgres://u:p@127.0.0.1:${port}/db`,
    connectTimeoutMs: 300,
    autoMigrate: false,
  });
  try {
    const err = await migrate(store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvablyStoreError);
    expect(err).toMatchObject({ operation: 'migrate', reason: 'connection-refused' });
    expect(sockets).toHaveLength(1);
  } finally {
    await store.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
});

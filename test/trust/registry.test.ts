import { describe, expect, it } from 'vitest';
import { ProvablyStoreError, ProvablyUrlError } from '../../src/errors/index.js';
import {
  addTrustedEndpoint,
  createTrustedSetCache,
  ensureTrustedEndpointsTable,
  isTrustedEndpoint,
  listTrustedEndpoints,
  removeTrustedEndpoint,
} from '../../src/trust/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';

describeEachBackend('trusted-endpoint registry', (backend) => {
  const store = useTestStore(backend);

  it('adds a normalized entry once and reports a repeat add as existing', async () => {
    const first = await addTrustedEndpoint('HTTPS://API.Example.com:443/users/{id}/', {
      store: store(),
      orgId: 'acme',
      label: ' users ',
    });
    expect(first.created).toBe(true);
    expect(first.endpoint).toMatchObject({
      orgId: 'acme',
      normalizedUrl: 'https://api.example.com/users/{id}',
      displayLabel: 'users',
      entryType: 'template',
      revokedAt: null,
    });
    const again = await addTrustedEndpoint('https://api.example.com/users/{id}', {
      store: store(),
      orgId: 'acme',
    });
    expect(again.created).toBe(false);
    expect(again.endpoint.id).toBe(first.endpoint.id);
  });

  it('keeps orgs apart', async () => {
    await addTrustedEndpoint('https://only-a.example.com/x', { store: store(), orgId: 'org-a' });
    expect(await isTrustedEndpoint('https://only-a.example.com/x', 'org-a', store())).toBe(true);
    expect(await isTrustedEndpoint('https://only-a.example.com/x', 'org-b', store())).toBe(false);
    expect((await listTrustedEndpoints({ store: store(), orgId: 'org-b' })).length).toBe(0);
  });

  it('concurrent adds of the same URL leave exactly one active row', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        addTrustedEndpoint('https://race.example.com/a', { store: store(), orgId: 'race' }),
      ),
    );
    expect(results.filter((r) => r.created).length).toBe(1);
    expect(new Set(results.map((r) => r.endpoint.id)).size).toBe(1);
  });

  it('remove is a soft revoke that keeps history, and the URL can be trusted again', async () => {
    const org = 'revoke';
    await addTrustedEndpoint('https://api.example.com/a', { store: store(), orgId: org });
    expect(await isTrustedEndpoint('https://api.example.com/a', org, store())).toBe(true);
    const revoked = await removeTrustedEndpoint('https://API.example.com/a/', { store: store(), orgId: org });
    expect(revoked?.revokedAt).toBeInstanceOf(Date);
    expect(await isTrustedEndpoint('https://api.example.com/a', org, store())).toBe(false);
    expect(
      await removeTrustedEndpoint('https://api.example.com/a', { store: store(), orgId: org }),
    ).toBeNull();
    expect(await listTrustedEndpoints({ store: store(), orgId: org })).toEqual([]);
    const history = await listTrustedEndpoints({ store: store(), orgId: org, includeRevoked: true });
    expect(history).toHaveLength(1);
    const readded = await addTrustedEndpoint('https://api.example.com/a', { store: store(), orgId: org });
    expect(readded.created).toBe(true);
    expect(await listTrustedEndpoints({ store: store(), orgId: org, includeRevoked: true })).toHaveLength(2);
  });

  it('the table refuses deletes and edits other than revoking', async () => {
    const { endpoint } = await addTrustedEndpoint('https://immutable.example.com', {
      store: store(),
      orgId: 'imm',
    });
    await expect(
      store().query('DELETE FROM trusted_endpoints WHERE id = $1', [endpoint.id]),
    ).rejects.toMatchObject({
      reason: 'append-only',
    });
    await expect(
      store().query(`UPDATE trusted_endpoints SET normalized_url = 'https://evil.net' WHERE id = $1`, [
        endpoint.id,
      ]),
    ).rejects.toBeInstanceOf(ProvablyStoreError);
  });

  it('rejects URLs that can never be trusted, naming the reason, and stores nothing', async () => {
    for (const bad of [
      'https://user:pw@api.example.com',
      'ftp://api.example.com',
      'not a url',
      'https://h/v{n}',
    ]) {
      await expect(addTrustedEndpoint(bad, { store: store(), orgId: 'bad' })).rejects.toBeInstanceOf(
        ProvablyUrlError,
      );
    }
    expect(await listTrustedEndpoints({ store: store(), orgId: 'bad', includeRevoked: true })).toEqual([]);
  });

  it('ensureTrustedEndpointsTable is idempotent', async () => {
    await ensureTrustedEndpointsTable(store());
    await ensureTrustedEndpointsTable(store());
    expect(await listTrustedEndpoints({ store: store(), orgId: 'nobody' })).toEqual([]);
  });

  describe('cached trusted set', () => {
    it('answers after one load, then picks up adds and removes on refresh', async () => {
      const org = 'cache';
      await addTrustedEndpoint('https://api.example.com/users/{id}', { store: store(), orgId: org });
      const cache = createTrustedSetCache({ store: store, refreshMs: 60_000 });
      try {
        const first = cache.check('https://api.example.com/users/1', org);
        expect(first).toBeInstanceOf(Promise);
        expect(await first).toBe('https://api.example.com/users/{id}');
        // Loaded: later answers are synchronous.
        expect(cache.check('https://api.example.com/users/2', org)).toBe(
          'https://api.example.com/users/{id}',
        );
        expect(cache.check('https://api.example.com/admin', org)).toBeNull();

        await addTrustedEndpoint('https://api.example.com/admin', { store: store(), orgId: org });
        await removeTrustedEndpoint('https://api.example.com/users/{id}', { store: store(), orgId: org });
        expect(cache.check('https://api.example.com/admin', org)).toBeNull(); // not refreshed yet
        await cache.refresh(org);
        expect(cache.check('https://api.example.com/admin', org)).toBe('https://api.example.com/admin');
        expect(cache.check('https://api.example.com/users/2', org)).toBeNull();
      } finally {
        cache.close();
      }
    });

    it('refreshes by itself within the refresh interval', async () => {
      const org = 'cache-timer';
      const cache = createTrustedSetCache({ store: store, refreshMs: 50 });
      try {
        expect(await cache.check('https://late.example.com', org)).toBeNull();
        await addTrustedEndpoint('https://late.example.com', { store: store(), orgId: org });
        await expect
          .poll(() => cache.check('https://late.example.com', org), { timeout: 5_000 })
          .toBe('https://late.example.com');
      } finally {
        cache.close();
      }
    });

    it('a failed first load rejects (so callers fail closed); a later check retries', async () => {
      let broken = true;
      const cache = createTrustedSetCache({
        store: () => {
          if (broken) throw new ProvablyStoreError('endpoints.list', 'connection-refused', 'test outage');
          return store();
        },
        refreshMs: 60_000,
      });
      try {
        await expect(cache.check('https://x.example.com', 'outage')).rejects.toBeInstanceOf(
          ProvablyStoreError,
        );
        broken = false;
        expect(await cache.check('https://x.example.com', 'outage')).toBeNull();
      } finally {
        cache.close();
      }
    });
  });
});

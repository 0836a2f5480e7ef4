// API keys, tenants and policy sets in the store (library level, both stores): what a key
// resolves to, that revocation and tampering are refused by the database itself, and that the
// OpenAPI document covers every route the app serves.
import { expect, it } from 'vitest';
import {
  apiKeySha256,
  createApiKey,
  createGatewayApp,
  createTenant,
  generateApiKey,
  openApiDocument,
  putPolicySet,
  resolveApiKey,
  revokeApiKey,
} from '../../src/gateway/index.js';
import { jsonLineLog } from '../../src/server/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';

describeEachBackend('gateway keys and tenants', (backend) => {
  const store = useTestStore(backend);

  it('generates pvk_<8>_<43> keys; only the SHA-256 and the prefix are stored', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { key, prefix, sha256 } = generateApiKey();
      expect(key).toMatch(/^pvk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
      expect(key.slice(4, 12)).toBe(prefix);
      expect(sha256).toBe(apiKeySha256(key));
      seen.add(key);
    }
    expect(seen.size).toBe(200);
  });

  it('resolves a key to its principal; a wrong secret, a malformed or a revoked key to null', async () => {
    await createTenant(store(), { name: 'Auth Co', id: 'auth-co' });
    const { key, info } = await createApiKey(store(), {
      tenant: 'auth-co',
      role: 'agent',
      agentId: 'billing-agent',
    });
    expect(await resolveApiKey(store(), key)).toEqual({
      tenant: 'auth-co',
      role: 'agent',
      keyId: info.id,
      keyName: null,
      agentId: 'billing-agent',
      keyPrefix: info.prefix,
    });
    const forged = `${key.slice(0, 13)}${key.slice(13).replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`;
    expect(await resolveApiKey(store(), forged)).toBeNull();
    expect(await resolveApiKey(store(), key.toUpperCase())).toBeNull();
    expect(await resolveApiKey(store(), '')).toBeNull();
    expect((await revokeApiKey(store(), info.id))?.revokedAt).toBeInstanceOf(Date);
    expect(await resolveApiKey(store(), key)).toBeNull();
    // Revoking again changes nothing (the first revocation time stays).
    const again = await revokeApiKey(store(), info.prefix);
    expect(again?.revokedAt?.getTime()).toBeGreaterThan(0);
  });

  it('the database refuses to un-revoke, re-role, re-tenant or delete a key, and to edit tenants or policy sets', async () => {
    await createTenant(store(), { name: 'Tamper Co', id: 'tamper-co' });
    const { info } = await createApiKey(store(), { tenant: 'tamper-co', role: 'reviewer' });
    const refused = async (sql: string, params: unknown[] = []) => {
      await expect(store().query(sql, params)).rejects.toMatchObject({ reason: 'append-only' });
    };
    await refused(`UPDATE provably_api_keys SET role = 'admin' WHERE id = $1`, [info.id]);
    await refused(`UPDATE provably_api_keys SET tenant = 'auth-co' WHERE id = $1`, [info.id]);
    await refused(`DELETE FROM provably_api_keys WHERE id = $1`, [info.id]);
    await revokeApiKey(store(), info.id);
    await refused(`UPDATE provably_api_keys SET revoked_at = NULL WHERE id = $1`, [info.id]);
    await refused(`UPDATE provably_tenants SET name = 'x' WHERE id = 'tamper-co'`);
    await refused(`DELETE FROM provably_tenants WHERE id = 'tamper-co'`);
    await putPolicySet(store(), {
      tenant: 'tamper-co',
      text: 'permit(principal, action, resource);',
      createdBy: 't',
    });
    await refused(
      `UPDATE provably_policy_sets SET text = 'forbid(principal, action, resource);' WHERE tenant = 'tamper-co'`,
    );
    await refused(`DELETE FROM provably_policy_sets WHERE tenant = 'tamper-co'`);
  });

  it('policy text is stored so the engine never reads it as a file path', async () => {
    await createTenant(store(), { name: 'Path Co', id: 'path-co' });
    // One line, no `;{(`: the engine would take it for a path. A comment-only set compiles.
    const set = await putPolicySet(store(), { tenant: 'path-co', text: '// /etc/passwd', createdBy: 't' });
    expect(set.text).toBe('// /etc/passwd\n');
  });

  it('the OpenAPI document documents every route the app serves, and nothing else', async () => {
    const { app, close } = createGatewayApp({ store: store(), log: jsonLineLog(() => {}) });
    await close(); // only the routes are read: no listener kept open
    const served = new Set(
      app.routes
        // The reviewer dashboard under /ui is HTML for browsers, not the REST API.
        .filter((r) => r.method !== 'ALL' && r.path !== '/ui' && !r.path.startsWith('/ui/'))
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    );
    const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    expect([...documented].sort()).toEqual([...served].sort());
  });
});

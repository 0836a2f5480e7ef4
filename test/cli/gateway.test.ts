// The built `provably` binary: tenants, API keys (printed once, listed without the secret,
// revoked by prefix), and `policy push` (refused with line and column, exit 2).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBackends, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'provably-gateway-cli-'));

for (const backend of cliBackends()) {
  describe(`provably tenants / apikeys / policy push [${backend.name}]`, () => {
    let env: NodeJS.ProcessEnv;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ env, cleanup } = await backend.env());
    }, 60_000);
    afterAll(async () => {
      await cleanup();
    });

    it('tenants create (id from the name, or --id) and list; a taken id is exit 2', async () => {
      const made = await runCli(['tenants', 'create', 'Billing Team'], env);
      expect(made).toMatchObject({ code: 0 });
      expect(made.stdout).toContain('tenant billing-team (Billing Team) created');
      expect((await runCli(['tenants', 'create', 'Other', '--id', 'other-co'], env)).code).toBe(0);
      const again = await runCli(['tenants', 'create', 'Billing Team'], env);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('already exists');
      const list = await runCli(['tenants', 'list', '--json'], env);
      expect(JSON.parse(list.stdout).map((t: { id: string }) => t.id)).toEqual(['billing-team', 'other-co']);
    }, 60_000);

    it('apikeys create prints the key once; list never shows it; revoke by prefix', async () => {
      const made = await runCli(
        ['apikeys', 'create', '--tenant', 'billing-team', '--role', 'agent', '--agent', 'billing-agent'],
        env,
      );
      expect(made.code).toBe(0);
      const key = made.stdout.trim();
      expect(key).toMatch(/^pvk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
      expect(made.stderr).toContain('not shown again');
      const prefix = key.slice(4, 12);
      const list = await runCli(['apikeys', 'list', '--tenant', 'billing-team'], env);
      expect(list.stdout).toContain(prefix);
      expect(list.stdout).toContain('billing-agent');
      expect(list.stdout).not.toContain(key.slice(13));
      const revoked = await runCli(['apikeys', 'revoke', prefix, '--json'], env);
      expect(revoked.code).toBe(0);
      expect(JSON.parse(revoked.stdout).revoked_at).toEqual(expect.any(String));
      expect((await runCli(['apikeys', 'revoke', 'zzzzzzzz'], env)).code).toBe(2);
    }, 60_000);

    it('apikeys create refuses a bad role, --agent on a non-agent key, an unknown tenant (exit 2)', async () => {
      for (const args of [
        ['--tenant', 'billing-team', '--role', 'root'],
        ['--tenant', 'billing-team', '--role', 'reviewer', '--agent', 'x'],
        ['--tenant', 'nobody', '--role', 'admin'],
      ]) {
        const r = await runCli(['apikeys', 'create', ...args], env);
        expect({ args, code: r.code }).toEqual({ args, code: 2 });
        expect(r.stdout).toBe('');
      }
    }, 60_000);

    it('policy push: versions a good set; a broken one is refused with policy, line and column', async () => {
      const good = join(dir, `good-${backend.name}.cedar`);
      writeFileSync(good, '@id("all")\npermit(principal, action, resource);\n');
      const pushed = await runCli(['policy', 'push', good, '--tenant', 'billing-team', '--json'], env);
      expect(pushed.code).toBe(0);
      expect(JSON.parse(pushed.stdout)).toMatchObject({ tenant: 'billing-team', version: 1 });
      const bad = join(dir, `bad-${backend.name}.cedar`);
      writeFileSync(
        bad,
        '@id("ok")\npermit(principal, action, resource);\n@id("oops")\nforbid(principal, action, resource) when { nope };\n',
      );
      const refused = await runCli(['policy', 'push', bad, '--tenant', 'billing-team'], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/oops at 4:\d+/);
      const unknown = await runCli(['policy', 'push', good, '--tenant', 'nobody'], env);
      expect(unknown.code).toBe(2);
    }, 60_000);
  });
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, cliBackends, runCli } from '../helpers/cli.js';

for (const backend of cliBackends()) {
  describe(`provably CLI [${backend.name}]`, () => {
    let env: NodeJS.ProcessEnv;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ env, cleanup } = await backend.env());
    });
    afterAll(() => cleanup());

    it('migrate is idempotent', async () => {
      const first = await runCli(['migrate', '--json'], env);
      expect(first.code, first.stderr).toBe(0);
      const again = await runCli(['migrate'], env);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/up to date/);
    });

    it('adds, lists (human and JSON), and removes an endpoint', async () => {
      const add = await runCli(
        ['endpoints', 'add', 'https://API.example.com/users/{id}/', '--label', 'Users'],
        env,
      );
      expect(add.code, add.stderr).toBe(0);
      expect(add.stdout).toContain('trusted https://api.example.com/users/{id} (Users) [org default]');
      expect(add.stdout).not.toContain('\u001b['); // NO_COLOR

      const repeat = await runCli(['endpoints', 'add', 'https://api.example.com/users/{id}', '--json'], env);
      expect(JSON.parse(repeat.stdout)).toMatchObject({
        created: false,
        normalized_url: 'https://api.example.com/users/{id}',
      });

      const human = await runCli(['endpoints', 'list'], env);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/https:\/\/api\.example\.com\/users\/\{id\}\s+template\s+Users/);

      const json = JSON.parse((await runCli(['endpoints', 'list', '--json'], env)).stdout);
      expect(json).toHaveLength(1);
      expect(json[0]).toMatchObject({
        org_id: 'default',
        entry_type: 'template',
        display_label: 'Users',
        revoked_at: null,
      });

      const removed = await runCli(['endpoints', 'remove', 'https://api.example.com/users/{id}'], env);
      expect(removed.code, removed.stderr).toBe(0);
      expect(removed.stdout).toContain('revoked https://api.example.com/users/{id}');
      expect(JSON.parse((await runCli(['endpoints', 'list', '--json'], env)).stdout)).toEqual([]);
      const all = JSON.parse((await runCli(['endpoints', 'list', '--all', '--json'], env)).stdout);
      expect(all[0].revoked_at).not.toBeNull();
    });

    it('--org and PROVABLY_ORG_ID select the organisation', async () => {
      expect((await runCli(['endpoints', 'add', 'https://a.example.com', '--org', 'acme'], env)).code).toBe(
        0,
      );
      const viaEnv = await runCli(['endpoints', 'list', '--json'], { ...env, PROVABLY_ORG_ID: 'acme' });
      expect(JSON.parse(viaEnv.stdout).map((e: { normalized_url: string }) => e.normalized_url)).toEqual([
        'https://a.example.com',
      ]);
      const other = await runCli(['endpoints', 'list', '--org', 'globex', '--json'], env);
      expect(JSON.parse(other.stdout)).toEqual([]);
    });

    it('bad input exits 2 with a one-line reason on stderr and nothing on stdout', async () => {
      for (const url of ['https://user:secret@api.example.com', 'not-a-url', 'ftp://files.example.com']) {
        const res = await runCli(['endpoints', 'add', url], env);
        expect(res.code).toBe(2);
        expect(res.stdout).toBe('');
        expect(res.stderr.trim().split('\n')).toHaveLength(1);
        expect(res.stderr).toMatch(/^provably: invalid URL/);
        expect(res.stderr).not.toContain('secret'); // credentials are never echoed back
      }
    });

    it('removing an entry that is not trusted exits 1', async () => {
      const res = await runCli(['endpoints', 'remove', 'https://never-added.example.com'], env);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('not trusted');
    });
  });
}

describe('provably CLI without a reachable store', () => {
  it('exits 1 with one line naming the store problem', async () => {
    const res = await runCli(
      ['endpoints', 'list'],
      cleanEnv({ PROVABLY_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postgres' }),
    );
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^provably: store .*connection-refused/);
  });

  it('a usage error exits 2; --help and --version exit 0', async () => {
    expect((await runCli(['endpoints', 'add'], cleanEnv())).code).toBe(2);
    expect((await runCli(['bogus'], cleanEnv())).code).toBe(2);
    const help = await runCli(['--help'], cleanEnv());
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('endpoints');
    expect((await runCli(['--version'], cleanEnv())).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

/**
 * Runs the BUILT `provably` binary (dist/cli.js) in a child process, as a user would. `npm test`
 * builds first; a missing build fails loudly rather than testing stale code silently.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, testDatabaseUrl } from './postgres.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'dist/cli.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment without any inherited provably or Postgres settings. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('PROVABLY_') || k === 'POSTGRES_URL' || k === 'NODE_OPTIONS' || k === 'FORCE_COLOR')
      continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it)`);
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface CliBackend {
  name: 'pglite' | 'postgres';
  /** A fresh, empty store's environment for the CLI. */
  env(): Promise<{ env: NodeJS.ProcessEnv; cleanup(): Promise<void> }>;
}

/** The CLI against a fresh embedded data dir, and against a fresh PostgreSQL database when configured. */
export function cliBackends(): CliBackend[] {
  const list: CliBackend[] = [
    {
      name: 'pglite',
      async env() {
        const dir = mkdtempSync(join(tmpdir(), 'provably-cli-'));
        return { env: cleanEnv({ PROVABLY_DATA_DIR: join(dir, '.provably') }), cleanup: async () => {} };
      },
    },
  ];
  if (testDatabaseUrl()) {
    list.push({
      name: 'postgres',
      async env() {
        const db = await createTestDatabase();
        // On PostgreSQL the default signing key is per user (XDG_CONFIG_HOME): a private one.
        const config = mkdtempSync(join(tmpdir(), 'provably-cli-config-'));
        return {
          env: cleanEnv({ PROVABLY_DATABASE_URL: db.url, XDG_CONFIG_HOME: config }),
          cleanup: async () => {
            rmSync(config, { recursive: true, force: true });
            await db.drop();
          },
        };
      },
    });
  }
  return list;
}

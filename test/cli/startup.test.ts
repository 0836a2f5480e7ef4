// What the CLI pays at start (issue #12): Node's compile cache is used when it can be and costs
// nothing when it cannot (a file where the directory should be, no permission), and a command
// that needs neither the evaluator nor the HTTP server does not load them (ajv, JSONPath, hono,
// OpenTelemetry: ~0.2 s of CPU at every command on 2 cores).
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, type CliResult, cleanEnv, ROOT, runCli } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'provably-cli-startup-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true }).map(String);
  } catch {
    return [];
  }
}

describe('CLI start-up', () => {
  it('writes its modules to the compile cache, and works silently when the cache cannot be used', async () => {
    const cache = join(tmp, 'cache');
    const ok = await runCli(['--version'], cleanEnv({ NODE_COMPILE_CACHE: cache }));
    expect(ok.code, ok.stderr).toBe(0);
    expect(filesUnder(cache).length).toBeGreaterThan(0);

    const aFile = join(tmp, 'not-a-dir');
    writeFileSync(aFile, 'x');
    const dataDir = join(tmp, 'data', '.provably');
    for (const unusable of [join(aFile, 'cache'), aFile]) {
      const env = cleanEnv({ NODE_COMPILE_CACHE: unusable, PROVABLY_DATA_DIR: dataDir });
      const version = await runCli(['--version'], env);
      expect(version).toMatchObject({ code: 0, stderr: '' });
      const list = await runCli(['endpoints', 'list', '--json'], env);
      expect(list.stderr).toBe('');
      expect(list.code).toBe(0);
      expect(JSON.parse(list.stdout)).toEqual([]);
    }
    expect(readFileSync(aFile, 'utf8')).toBe('x');
  });

  it('loads neither the evaluator nor the HTTP server for a store command', async () => {
    const hook = join(tmp, 'log-loads.mjs');
    const log = join(tmp, 'loads.txt');
    writeFileSync(
      hook,
      `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({ load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context); } });
`,
    );
    const env = cleanEnv({ PROVABLY_DATA_DIR: join(tmp, 'loads', '.provably') });
    const run = (args: string[]) =>
      new Promise<CliResult>((resolve) => {
        execFile(
          process.execPath,
          ['--import', hook, CLI, ...args],
          { env, cwd: ROOT },
          (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
        );
      });
    const list = await run(['endpoints', 'list']);
    expect(list.code, list.stderr).toBe(0);
    const loaded = readFileSync(log, 'utf8');
    expect(loaded).toContain('@electric-sql/pglite'); // the hook does see the store being loaded
    for (const heavy of ['/ajv/', '/jsonpath-rfc9535/', '/hono/', '/@hono/', '/@opentelemetry/']) {
      expect(loaded, heavy).not.toContain(heavy);
    }
    // …and `evaluate` still finds them when it runs.
    rmSync(log);
    const payload = join(tmp, 'payload.json');
    writeFileSync(payload, '{}');
    const key = join(tmp, 'trusted.pem');
    writeFileSync(key, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const evaluate = await run(['evaluate', payload, '--offline', '--trusted-key', key, '--json']);
    expect(JSON.parse(evaluate.stdout).outcome, evaluate.stderr).toBe('ERROR');
    expect(readFileSync(log, 'utf8')).toContain('/ajv/');
  });
});

/**
 * End to end: the CLI's read side on rows a real agent recorded — `provably intercepts list`
 * (--json, --agent, --action, human table) and `provably intercepts show <id>` (human output with
 * a DECODED preview of a gzip body; --json with the wire body in base64).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REDACTED } from '../../src/record/index.js';
import { runCli } from '../helpers/cli.js';
import {
  type CountingServer,
  GZIP_BYTES,
  JSON_BODY,
  startCountingServer,
} from '../helpers/counting-server.js';
import { runAgent } from './child.js';
import { describeE2E, type E2EStore, useE2EStores } from './stores.js';

interface JsonRow {
  id: string;
  org_id: string;
  agent_id: string;
  action_name: string;
  intercept_index: number | null;
  trace_id: string | null;
  span_id: string | null;
  method: string;
  url: string;
  status: number;
  request_headers: Record<string, string | string[]>;
  response_headers: Record<string, string | string[]>;
  response_body_base64: string | null;
  content_encoding: string | null;
  body_sha256: string;
  body_size: number;
  body_truncated: boolean;
  error: string | null;
  started_at: string;
  duration_ms: number;
  created_at: string;
}

let server: CountingServer;
beforeAll(async () => {
  server = await startCountingServer();
});
afterAll(async () => {
  await server?.close();
});

describeE2E('CLI read side on recorded calls', (backend) => {
  const stores = useE2EStores(backend);
  let store: E2EStore;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    store = await stores.fresh();
    await store.trust(`${server.url}/json`, `${server.url}/gzip`);
    env = store.env();
    await runAgent('cli-seed.mjs', { env: store.env({ TRUSTED: server.url }) });
  });

  const cli = async (...args: string[]) => {
    const res = await runCli(args, env);
    expect(res.code, `provably ${args.join(' ')}: ${res.stderr}`).toBe(0);
    return res;
  };
  const listJson = async (...args: string[]) =>
    JSON.parse((await cli('intercepts', 'list', '--json', ...args)).stdout) as JsonRow[];

  it('list --json: every recorded call, newest first, complete and redacted', async () => {
    const rows = await listJson();
    expect(rows.map((r) => [r.agent_id, r.action_name])).toEqual([
      ['agent-b', 'fetch-json'],
      ['agent-a', 'fetch-gzip'],
      ['agent-a', 'fetch-json'],
    ]);
    for (const r of rows) {
      expect(r).toMatchObject({
        org_id: store.orgId,
        method: 'GET',
        status: 200,
        error: null,
        body_truncated: false,
      });
      expect(r.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(r.span_id).toMatch(/^[0-9a-f]{16}$/);
      expect(r.request_headers.authorization).toBe(REDACTED);
      expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    const gzip = rows[1] as JsonRow;
    expect(gzip).toMatchObject({
      url: `${server.url}/gzip`,
      intercept_index: 3,
      content_encoding: 'gzip',
      body_size: GZIP_BYTES.length,
    });
    expect(Buffer.from(gzip.response_body_base64 ?? '', 'base64')).toEqual(GZIP_BYTES);
  });

  it('list --agent / --action filter (alone and together); the human table lists the same rows', async () => {
    expect((await listJson('--agent', 'agent-a')).map((r) => r.action_name)).toEqual([
      'fetch-gzip',
      'fetch-json',
    ]);
    expect((await listJson('--action', 'fetch-json')).map((r) => r.agent_id)).toEqual(['agent-b', 'agent-a']);
    expect((await listJson('--agent', 'agent-b', '--action', 'fetch-json')).map((r) => r.url)).toEqual([
      `${server.url}/json?n=2`,
    ]);
    expect(await listJson('--agent', 'nobody')).toEqual([]);
    expect(await listJson('--org', 'another-org')).toEqual([]);
    expect((await listJson('--limit', '1')).map((r) => r.agent_id)).toEqual(['agent-b']);

    const all = await listJson();
    const human = (await cli('intercepts', 'list')).stdout;
    const lines = human.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^STARTED\s+AGENT\s+ACTION\s+METHOD\s+STATUS\s+BYTES\s+URL\s+ID$/);
    expect(lines).toHaveLength(1 + all.length);
    all.forEach((r, i) => {
      expect(lines[i + 1]).toContain(r.id);
      expect(lines[i + 1]).toContain(r.url);
    });
    expect(lines[2]).toMatch(/agent-a\s+fetch-gzip#3\s+GET\s+200/);
    expect(human).not.toContain('\u001b['); // NO_COLOR

    const none = await runCli(['intercepts', 'list', '--agent', 'nobody'], env);
    expect(none).toMatchObject({ code: 0, stdout: '' });
    expect(none.stderr).toContain('no recorded calls');
  });

  it('show <id>: headers, ids and the DECODED preview of a gzip body; --json keeps the wire bytes', async () => {
    const [gzip] = await listJson('--action', 'fetch-gzip');
    if (!gzip) throw new Error('no gzip row');
    const human = (await cli('intercepts', 'show', gzip.id)).stdout;
    expect(human).toContain(`GET ${server.url}/gzip`);
    expect(human).toContain(`id            ${gzip.id}`);
    expect(human).toContain(`org / agent   ${store.orgId} / agent-a`);
    expect(human).toContain('action        fetch-gzip (index 3)');
    expect(human).toContain(`trace / span  ${gzip.trace_id} / ${gzip.span_id}`);
    expect(human).toContain(
      `body          ${GZIP_BYTES.length} bytes, sha256 ${gzip.body_sha256}, encoding gzip`,
    );
    expect(human).toContain(`  authorization: ${REDACTED}`);
    expect(human).toContain('  content-encoding: gzip');
    // The preview is the decoded document, not compressed bytes.
    const preview = human.split('body preview\n')[1] ?? '';
    expect(preview.trim()).toBe(JSON.stringify(JSON_BODY));

    const json = JSON.parse((await cli('intercepts', 'show', gzip.id, '--json')).stdout) as JsonRow;
    expect(json).toEqual(gzip);
    expect(Buffer.from(json.response_body_base64 ?? '', 'base64')).toEqual(GZIP_BYTES);

    // Upper-case ids are the same id.
    expect(JSON.parse((await cli('intercepts', 'show', gzip.id.toUpperCase(), '--json')).stdout).id).toBe(
      gzip.id,
    );
  });

  it('show: an unknown id exits 1; a malformed id is bad input (exit 2), one line on stderr', async () => {
    const unknown = await runCli(['intercepts', 'show', '00000000-0000-4000-8000-000000000000'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain('no recorded call with id 00000000-0000-4000-8000-000000000000');

    const malformed = await runCli(['intercepts', 'show', 'not-an-id'], env);
    expect(malformed.stdout).toBe('');
    expect(malformed.stderr.trim().split('\n')).toHaveLength(1);
    expect(malformed.stderr).toContain('invalid intercept id "not-an-id"');
    expect(malformed.code).toBe(2);
  });
});

/**
 * The adapter subpaths as a user loads them from the built package: `require` and `import` of
 * provably/adapters, provably/ai, provably/langchain, provably/openai-agents; none of them loads
 * its framework (only types are shared), so provably works without them installed; and a
 * CommonJS app's governed call is a scope for the ESM preload.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../e2e/child.js';

const SUBPATHS = {
  'provably/adapters': ['governTool', 'findBlocked', 'formatBlocked', 'isGoverned'],
  'provably/ai': ['governTools', 'governTool'],
  'provably/langchain': ['governTools', 'governToolNode', 'governTool'],
  'provably/openai-agents': ['governTools', 'governAgent', 'governTool'],
} as const;

function node(args: string[]): string {
  return execFileSync(process.execPath, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
}

describe('adapter subpaths of the built package', () => {
  it('require() and import of each subpath give its functions; the root exports governTool too', () => {
    const names = JSON.stringify(SUBPATHS);
    const check = (load: string) => `
      const want = ${names}; const out = {};
      for (const [path, fns] of Object.entries(want)) { const m = ${load}; out[path] = fns.filter((f) => typeof m[f] !== 'function'); }
      const root = ${load.replace('(path)', "('provably')")};
      out.root = typeof root.governTool;
      console.log(JSON.stringify(out));`;
    const cjs = JSON.parse(node(['-e', `(async () => { ${check('require(path)')} })()`]));
    const esm = JSON.parse(node(['--input-type=module', '-e', check('await import(path)')]));
    const expected = { ...Object.fromEntries(Object.keys(SUBPATHS).map((p) => [p, []])), root: 'function' };
    expect(cjs).toEqual(expected);
    expect(esm).toEqual(expected);
  });

  it('no adapter loads its framework: the built files name none of them', () => {
    for (const file of ['index', 'ai', 'langchain', 'openai-agents']) {
      for (const ext of ['js', 'cjs']) {
        const code = readFileSync(join(ROOT, `dist/adapters/${file}.${ext}`), 'utf8');
        expect(code, `${file}.${ext}`).not.toMatch(
          /["'](ai|@ai-sdk\/[^"']+|@langchain\/[^"']+|langchain|@openai\/agents)["']/,
        );
      }
    }
    const loaded = node([
      '-e',
      `for (const p of ${JSON.stringify(Object.keys(SUBPATHS))}) require(p);
       console.log(JSON.stringify(Object.keys(require.cache).filter((k) => /node_modules\\/(ai|@langchain|langchain|@openai\\/agents)\\//.test(k))));`,
    ]);
    expect(JSON.parse(loaded)).toEqual([]);
  });

  it('a CommonJS app under the ESM preload: its governed call is a scope provably sees', () => {
    const out = node([
      '--import',
      'provably/register',
      '-e',
      `const { governTool } = require('provably/ai'); const { activeScope } = require('provably');
       governTool('get_weather', async () => activeScope(), { agentId: 'cjs-agent' })().then((s) => console.log(JSON.stringify(s)));`,
    ]);
    expect(JSON.parse(out.trim().split('\n').at(-1) ?? '')).toMatchObject({
      agentId: 'cjs-agent',
      actionName: 'get_weather',
    });
  });

  it('a tool governed by the ESM copy nested in a call governed by the CommonJS copy: one scope', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       import { governTool as esmGovern } from 'provably/adapters';
       const require = createRequire(process.cwd() + '/x.js');
       const { governTool: cjsGovern } = require('provably/adapters');
       const { activeScope } = require('provably');
       const spans = [];
       const inner = esmGovern('get_weather', async () => { spans.push(activeScope()?.spanId); return 'ok'; }, { agentId: 'a' });
       const outer = cjsGovern('get_weather', async () => { spans.push(activeScope()?.spanId); return inner(); }, { agentId: 'a' });
       console.log(JSON.stringify({ value: await outer(), distinct: new Set(spans).size, scoped: spans.every(Boolean) }));`,
    ]);
    expect(JSON.parse(out.trim().split('\n').at(-1) ?? '')).toEqual({
      value: 'ok',
      distinct: 1,
      scoped: true,
    });
  });
});

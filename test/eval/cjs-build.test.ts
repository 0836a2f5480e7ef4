// The CJS build (tsup → esbuild, dependencies external) must work too: `canonicalize` is ESM
// only, and a naive default import of it is not callable there. Bundles src/eval and
// src/handoff the way tsup does and runs a real evaluation through the CJS output.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import type * as Eval from '../../src/eval/index.js';
import type * as Handoff from '../../src/handoff/index.js';
import { canonicalPayloadJson } from '../../src/handoff/index.js';
import { claimAbout, payloadOf, recordCall, setup } from './fixture-ledger.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('CJS build', () => {
  it('evaluates and canonicalizes through a CommonJS bundle', async () => {
    const out = await build({
      stdin: {
        contents: "export * from './src/eval/index.ts';\nexport * from './src/handoff/index.ts';\n",
        resolveDir: ROOT,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      packages: 'external',
      write: false,
      logLevel: 'silent',
    });
    // Inside the repository, so the external packages resolve from node_modules.
    const dir = `${ROOT}node_modules/.cache/provably-tests`;
    mkdirSync(dir, { recursive: true });
    const file = `${dir}/eval-handoff-${process.pid}.cjs`;
    writeFileSync(file, out.outputFiles[0]?.text ?? '');
    let cjs: typeof Eval & typeof Handoff;
    try {
      cjs = createRequire(import.meta.url)(file) as typeof Eval & typeof Handoff;
    } finally {
      rmSync(file, { force: true });
    }

    expect(cjs.canonicalJson({ b: 1, a: [2, { d: 1, c: 0 }] })).toBe('{"a":[2,{"c":0,"d":1}],"b":1}');
    expect(cjs.showValue({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
    const { ledger, options } = setup();
    const call = recordCall(ledger, { body: { price: 101.5 }, encoding: 'gzip' });
    const payload = payloadOf([claimAbout(ledger, call, { json_path: '$.price', claimed_value: 101.5 })]);
    expect(cjs.canonicalPayloadJson(payload)).toBe(canonicalPayloadJson(payload));
    expect((await cjs.evaluateHandoff(payload, options)).outcome).toBe('PASS');
    const wrong = payloadOf([claimAbout(ledger, call, { json_path: '$.price', claimed_value: 1 })]);
    expect((await cjs.evaluateHandoff(wrong, options)).outcome).toBe('CAUGHT');
  });
});

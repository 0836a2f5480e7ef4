// The CJS build must work too: `canonicalize` is ESM only, and a naive default import of it is
// not callable there. Runs a real evaluation through the package's CommonJS output.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type * as Eval from '../../src/eval/index.js';
import type * as Handoff from '../../src/handoff/index.js';
import { canonicalPayloadJson } from '../../src/handoff/index.js';
import { claimAbout, payloadOf, recordCall, setup } from './fixture-ledger.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('CJS build', () => {
  it('evaluates and canonicalizes through a CommonJS bundle', async () => {
    // The package's real CommonJS build (npm test builds it first).
    const file = `${ROOT}dist/index.cjs`;
    expect(existsSync(file), `${file} is missing: run npm run build`).toBe(true);
    const cjs = createRequire(import.meta.url)(file) as typeof Eval & typeof Handoff;

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

/**
 * buildHandoffPayload and checkpoints: a payload built when the latest checkpoint of the signer
 * already covers the whole log reuses it; a new record (or another signer) gets a new one.
 */
import { expect, it } from 'vitest';
import {
  generateSigningKeyPem,
  listCheckpoints,
  signerFromPem,
  trustedKeysOf,
  verifyLog,
} from '../../src/ledger/index.js';
import { buildPayload, recordRun } from '../fixtures/handoff/records.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';

const ORG = 'org-handoff-cp';
const call = (n: number) => ({ action: `act_${n}`, url: `https://api.test/${n}`, body: { n } });
const claim = (n: number) => ({
  action_name: `act_${n}`,
  verification_mode: 'verbatim' as const,
  claimed_value: { n },
});

describeEachBackend('handoff checkpoints', (backend) => {
  const store = useTestStore(backend);
  const signer = signerFromPem(generateSigningKeyPem());
  const other = signerFromPem(generateSigningKeyPem());

  it('reuses a covering checkpoint of the same key, issues one when the log grew or the key differs', async () => {
    const run = await recordRun(store(), { orgId: ORG, calls: [call(1), call(2)] });
    const first = await buildPayload(store(), run, signer, [claim(1)]);
    const again = await buildPayload(store(), run, signer, [claim(2)]);
    expect((await listCheckpoints(store(), ORG)).length).toBe(1);
    expect(again.payload.claims[0]?.proof.checkpoint).toEqual(first.payload.claims[0]?.proof.checkpoint);

    await buildPayload(store(), run, other, [claim(1)]);
    expect((await listCheckpoints(store(), ORG)).length).toBe(2);

    const run2 = await recordRun(store(), { orgId: ORG, calls: [call(3)] });
    const grown = await buildPayload(store(), run2, signer, [claim(3)]);
    expect(grown.payload.claims[0]?.proof.checkpoint.tree_size).toBe(3);
    expect((await listCheckpoints(store(), ORG)).length).toBe(3);
    const report = await verifyLog(store(), ORG, { trustedKeys: trustedKeysOf(signer, other) });
    expect(report).toMatchObject({ ok: true, verifiedCheckpoints: 3 });
  });
});

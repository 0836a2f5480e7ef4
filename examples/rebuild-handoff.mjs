// Rebuilds the honest run's handoff from what the store holds NOW (after the tamper step) and
// posts it to the eval service: the edited record no longer matches its leaf in the signed log.
//   PROVABLY_DATA_DIR=… SERVE_URL=… node examples/rebuild-handoff.mjs <saved-payload.json>
import { readFileSync } from 'node:fs';
import { buildHandoffPayload, closeDefaultStore, postHandoff } from 'provably';

const saved = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const claims = saved.claims.map(({ proof: _proof, ...claim }) => claim);
const { payload } = await buildHandoffPayload(
  { claims },
  { task: saved.task, traceId: saved.run_id, runId: saved.run_id },
);
const verdict = await postHandoff(process.env.SERVE_URL, payload);
process.stdout.write(`  agent | rebuilt handoff -> eval service: ${verdict.body.outcome}\n`);
for (const c of verdict.body.per_claim)
  process.stdout.write(`  agent |   ${c.action_name}: ${c.verdict} (${c.reason})\n`);
await closeDefaultStore();

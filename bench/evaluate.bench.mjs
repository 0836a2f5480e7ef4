// P6: the cost of evaluating one claim, proof verification included, against the floor of any
// verification — RFC 8785 canonicalization + SHA-256 of the same record — in the same run.
// Target ≤ 3×. A payload carries many claims under one checkpoint, as real handoffs do, so the
// per-claim figure is the payload's time divided by its claims. Also: `provably verify` time per
// 10,000 records (verifyLog) on the embedded store, and on PostgreSQL when one is running
// (PROVABLY_BENCH_DATABASE_URL, or the test server's .pgtest/url).
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import canonicalize from 'canonicalize';
import pg from 'pg';
import {
  appendLeaves,
  evaluateHandoff,
  generateSigningKeyPem,
  getIntercept,
  inclusionProof,
  issueCheckpoint,
  ledgerProofVerifier,
  openStore,
  recordContentOf,
  signerFromPem,
  trustedKeysOf,
  verifyLog,
} from '../dist/index.js';
import { fmt, median, verdict } from './stats.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ORG = 'bench';
const CLAIMS = 50;
const ROUNDS = 41;
const VERIFY_RECORDS = 10_000;
const signer = signerFromPem(generateSigningKeyPem());
const trustedKeys = trustedKeysOf(signer);

async function insertRecords(store, n) {
  const ids = [];
  // A body of its own per record (the same shape), so no claim reuses another's decoded body.
  const bodyOf = (i) =>
    Buffer.from(JSON.stringify({ id: i, name: 'Ada Lovelace', balance: 1250.5, tags: ['gold', 'eu'] }));
  for (let start = 0; start < n; start += 500) {
    const values = [];
    const params = [];
    for (let i = start; i < Math.min(n, start + 500); i++) {
      const id = randomUUID();
      ids.push(id);
      const body = bodyOf(i);
      const p = params.length;
      // The body travels as base64 text and is decoded by the database: one statement shape for
      // both backends.
      values.push(
        `($${p + 1}, $${p + 2}, 'agent', 'get_customer', ${i}, 'GET', $${p + 3}, 200, '{"accept":"application/json"}', '{"content-type":"application/json"}', decode($${p + 4}, 'base64'), $${p + 5}, ${body.length}, $${p + 6}, 1.5)`,
      );
      params.push(
        id,
        ORG,
        `https://api.example.com/customers/${i}`,
        body.toString('base64'),
        createHash('sha256').update(body).digest('hex'),
        new Date(Date.UTC(2026, 0, 1) + i),
      );
    }
    await store.query(
      `INSERT INTO provably_intercepts (id, org_id, agent_id, action_name, intercept_index, method, url, status, request_headers, response_headers, response_body, body_sha256, body_size, started_at, duration_ms)
       VALUES ${values.join(', ')}`,
      params,
    );
  }
  for (let i = 0; i < ids.length; i += 1000) await appendLeaves(store, ORG, ids.slice(i, i + 1000));
  return ids;
}

/**
 * One payload of CLAIMS claims under one checkpoint. `distinct`: each claim is about another
 * record (its own leaf, inclusion proof and body) — every claim pays the whole proof. Otherwise
 * every claim is about the same record (several fields of one response), which the evaluator
 * verifies once per payload.
 */
function payloadOf(records, proofs, signed, distinct) {
  const claims = Array.from({ length: CLAIMS }, (_, i) => {
    const k = distinct ? i : 0;
    const record = records[k];
    return {
      action_name: 'get_customer',
      verification_mode: 'field_extraction',
      json_path: '$.balance',
      claimed_value: 1250.5,
      query_record_id: record.id,
      proof: {
        record: recordContentOf(record),
        response_body: Buffer.from(record.responseBody).toString('base64'),
        leaf_index: proofs[k].leafIndex,
        inclusion_proof: proofs[k].proof,
        checkpoint: signed,
      },
    };
  });
  return { provably_org_id: ORG, task: 'bench', run_id: 'bench', claims };
}

async function perClaim() {
  const store = openStore({ dataDir: 'memory://' });
  const ids = await insertRecords(store, 1024);
  const checkpoint = await issueCheckpoint(store, ORG, signer);
  const { id: _id, ...signed } = checkpoint;
  const records = [];
  const proofs = [];
  for (let i = 0; i < CLAIMS; i++) {
    const record = await getIntercept(store, ids[(i * 37 + 11) % ids.length]);
    records.push(record);
    proofs.push(await inclusionProof(store, ORG, record.id, checkpoint.tree_size));
  }
  await store.close();
  const contents = records.map((r) => recordContentOf(r));
  const options = {
    trustedKeys,
    verifyProof: ledgerProofVerifier,
    trustedEndpoints: ['https://api.example.com/customers/{id}'],
  };
  const payloads = {
    distinct: payloadOf(records, proofs, signed, true),
    same: payloadOf(records, proofs, signed, false),
  };
  for (const [name, payload] of Object.entries(payloads)) {
    const first = await evaluateHandoff(payload, options);
    if (first.outcome !== 'PASS')
      throw new Error(`bench payload (${name}) did not PASS: ${JSON.stringify(first).slice(0, 500)}`);
  }

  // The floor: canonicalize + SHA-256 of each claim's record, as the distinct payload has them.
  const floor = () => {
    for (const content of contents) createHash('sha256').update(canonicalize(content)).digest();
  };
  const times = { distinct: [], same: [], floor: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of r % 2 ? ['distinct', 'same'] : ['same', 'distinct']) {
      const t = process.hrtime.bigint();
      await evaluateHandoff(payloads[name], options);
      times[name].push(Number(process.hrtime.bigint() - t) / 1e3 / CLAIMS);
    }
    const t = process.hrtime.bigint();
    for (let k = 0; k < 20; k++) floor();
    times.floor.push(Number(process.hrtime.bigint() - t) / 1e3 / CLAIMS / 20);
  }
  return { distinctUs: median(times.distinct), sameUs: median(times.same), floorUs: median(times.floor) };
}

async function verifyTime(label, store) {
  await insertRecords(store, VERIFY_RECORDS);
  await issueCheckpoint(store, ORG, signer);
  const t = process.hrtime.bigint();
  const result = await verifyLog(store, ORG, { trustedKeys });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (!result.ok) throw new Error(`verifyLog failed on the bench log (${label})`);
  return { label, ms };
}

const { distinctUs, sameUs, floorUs } = await perClaim();
const verifies = [await verifyTime('PGlite (memory)', openStore({ dataDir: 'memory://' }))];
const pgUrl =
  process.env.PROVABLY_BENCH_DATABASE_URL ??
  (existsSync(join(root, '.pgtest/url'))
    ? readFileSync(join(root, '.pgtest/url'), 'utf8').trim()
    : undefined);
if (pgUrl) {
  const admin = new pg.Client({ connectionString: pgUrl });
  const db = `bench_eval_${process.pid}`;
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    const url = new URL(pgUrl);
    url.pathname = `/${db}`;
    const store = openStore({ databaseUrl: url.toString() });
    verifies.push(await verifyTime('PostgreSQL', store));
    await store.close();
    await admin.query(`DROP DATABASE ${db} WITH (FORCE)`);
  } catch (err) {
    process.stderr.write(`bench: PostgreSQL part skipped: ${err.message}\n`);
  } finally {
    await admin.end().catch(() => {});
  }
}

const ratio = distinctUs / floorUs;
console.log(`## P6 claim evaluation (${CLAIMS} claims per payload under one checkpoint, tree of 1,024 leaves, ${ROUNDS} rounds, medians)

Each claim: payload schema validation, leaf hash, inclusion proof (10 nodes), checkpoint signature (verified once per payload), org/record/action checks, endpoint trust match, body base64 + SHA-256 + decode + JSON parse (once per body), RFC 9535 query, RFC 8785 comparison.

| what | µs per claim | vs floor |
|---|---:|---:|
| canonicalize + SHA-256 of the record (floor) | ${fmt(floorUs, 1)} | 1.00× |
| evaluateHandoff, field_extraction, ${CLAIMS} claims on ${CLAIMS} distinct records | ${fmt(distinctUs, 1)} | ${fmt(distinctUs / floorUs)}× |
| evaluateHandoff, field_extraction, ${CLAIMS} claims on one record (proof verified once) | ${fmt(sameUs, 1)} | ${fmt(sameUs / floorUs)}× |

Target ≤ 3× (distinct records, every claim pays its own proof) → ${fmt(ratio)}× **${verdict(ratio <= 3)}**.

| \`provably verify\` (verifyLog) | ms per ${VERIFY_RECORDS.toLocaleString('en')} records |
|---|---:|
${verifies.map((v) => `| ${v.label} | ${fmt(v.ms, 0)} |`).join('\n')}
`);
process.exit(0);

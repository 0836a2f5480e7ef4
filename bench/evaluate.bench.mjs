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
const ROUNDS = 15;
const VERIFY_RECORDS = 10_000;
const signer = signerFromPem(generateSigningKeyPem());
const trustedKeys = trustedKeysOf(signer);

async function insertRecords(store, n) {
  const ids = [];
  const body = Buffer.from(
    JSON.stringify({ id: 42, name: 'Ada Lovelace', balance: 1250.5, tags: ['gold', 'eu'] }),
  );
  const sha = createHash('sha256').update(body).digest('hex');
  for (let start = 0; start < n; start += 500) {
    const values = [];
    const params = [];
    for (let i = start; i < Math.min(n, start + 500); i++) {
      const id = randomUUID();
      ids.push(id);
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
        sha,
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

async function perClaim() {
  const store = openStore({ dataDir: 'memory://' });
  const ids = await insertRecords(store, 1024);
  const checkpoint = await issueCheckpoint(store, ORG, signer);
  const { id: _id, ...signed } = checkpoint;
  const record = await getIntercept(store, ids[517]);
  const proof = await inclusionProof(store, ORG, record.id, checkpoint.tree_size);
  const content = recordContentOf(record);
  const claim = {
    action_name: 'get_customer',
    verification_mode: 'field_extraction',
    json_path: '$.balance',
    claimed_value: 1250.5,
    query_record_id: record.id,
    proof: {
      record: content,
      response_body: Buffer.from(record.responseBody).toString('base64'),
      leaf_index: proof.leafIndex,
      inclusion_proof: proof.proof,
      checkpoint: signed,
    },
  };
  const payload = {
    provably_org_id: ORG,
    task: 'bench',
    run_id: 'bench',
    claims: Array.from({ length: CLAIMS }, () => claim),
  };
  const options = {
    trustedKeys,
    verifyProof: ledgerProofVerifier,
    trustedEndpoints: ['https://api.example.com/customers/{id}'],
  };
  const first = await evaluateHandoff(payload, options);
  if (first.outcome !== 'PASS')
    throw new Error(`bench payload did not PASS: ${JSON.stringify(first).slice(0, 500)}`);
  await store.close();

  const floor = () => {
    for (let i = 0; i < CLAIMS; i++) createHash('sha256').update(canonicalize(content)).digest();
  };
  const evalTimes = [];
  const floorTimes = [];
  for (let r = 0; r < ROUNDS; r++) {
    let t = process.hrtime.bigint();
    await evaluateHandoff(payload, options);
    evalTimes.push(Number(process.hrtime.bigint() - t) / 1e3 / CLAIMS);
    t = process.hrtime.bigint();
    for (let k = 0; k < 20; k++) floor();
    floorTimes.push(Number(process.hrtime.bigint() - t) / 1e3 / CLAIMS / 20);
  }
  return { evalUs: median(evalTimes), floorUs: median(floorTimes) };
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

const { evalUs, floorUs } = await perClaim();
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

const ratio = evalUs / floorUs;
console.log(`## P6 claim evaluation (${CLAIMS} claims per payload under one checkpoint, ${ROUNDS} rounds, medians)

| what | µs per claim |
|---|---:|
| canonicalize + SHA-256 of the record (floor) | ${fmt(floorUs, 1)} |
| evaluateHandoff, field_extraction, proof verified | ${fmt(evalUs, 1)} |

Target ≤ 3× → ${fmt(ratio)}× **${verdict(ratio <= 3)}**.

| \`provably verify\` (verifyLog) | ms per ${VERIFY_RECORDS.toLocaleString('en')} records |
|---|---:|
${verifies.map((v) => `| ${v.label} | ${fmt(v.ms, 0)} |`).join('\n')}
`);
process.exit(0);

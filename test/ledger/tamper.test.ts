/**
 * Tamper campaign: a superuser (triggers off) edits, deletes and reorders intercept rows, leaf
 * rows and checkpoints at random; verifyLog must detect every case and name the first broken
 * index. Each case starts from the same pristine log, restored exactly after the case.
 *
 * The log: 64 records of varied shape; checkpoints at tree sizes 20, 45 and 60; leaves 60-63
 * not checkpointed yet. Cases per backend: LEDGER_TAMPER_CASES (default 200; e.g. 1000 for a
 * long run). A failure prints the case's seed: LEDGER_TAMPER_SEED=<seed> replays it.
 *
 * Limits shown at the end (not in the random campaign): what no log can detect without an
 * outside copy of a checkpoint.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import {
  appendLeaves,
  generateSigningKeyPem,
  issueCheckpoint,
  type LedgerProblemKind,
  recordLeafHash,
  signCheckpoint,
  signerFromPem,
  trustedKeysOf,
  type VerifyLogResult,
  verifyLog,
} from '../../src/ledger/index.js';
import { getIntercept } from '../../src/record/index.js';
import { describeEachBackend, type TestStore, useTestStore } from '../helpers/backends.js';
import { type FixtureRow, insertRows, installTamper, lit, makeRows, prng, tamper } from './fixtures.js';

const ORG = 'tamper';
const ELSEWHERE = 'tamper-elsewhere';
const N = 64;
const CHECKPOINTS = [20, 45, 60];
const CASES = Number(process.env.LEDGER_TAMPER_CASES ?? 200);
const ONLY_SEED = process.env.LEDGER_TAMPER_SEED ? Number(process.env.LEDGER_TAMPER_SEED) : undefined;

const signer = signerFromPem(generateSigningKeyPem());
const attacker = signerFromPem(generateSigningKeyPem());
const trustedKeys = trustedKeysOf(signer);

interface Expectation {
  kind: LedgerProblemKind;
  /** Exact first broken index, or null (no index applies). */
  leafIndex: number | null;
  changed?: 'record' | 'leaf' | 'checkpoint';
}

interface Case {
  name: string;
  stmts: string[];
  arg?: unknown;
  expect: Expectation;
}

interface Ctx {
  rows: FixtureRow[];
  ids: string[];
  store: TestStore;
  checkpointIds: string[];
}

/** The largest checkpoint size ≤ i (0 when none): where a forged range starts. */
const rangeStart = (i: number) => Math.max(0, ...CHECKPOINTS.filter((c) => c <= i));
const covered = (i: number) => i < (CHECKPOINTS.at(-1) as number);

type Op = (r: () => number, ctx: Ctx) => Promise<Case | null> | Case | null;

const int = (r: () => number, n: number) => Math.floor(r() * n);
const two = (r: () => number): [number, number] => {
  const a = int(r, N);
  let b = int(r, N - 1);
  if (b >= a) b += 1;
  return a < b ? [a, b] : [b, a];
};

const FIELD_EDITS: [string, string][] = [
  ['status', 'status = CASE WHEN status IS NULL THEN 200 ELSE status + 1 END'],
  ['url', "url = url || '#t'"],
  ['method', "method = CASE WHEN method = 'PATCH' THEN 'GET' ELSE 'PATCH' END"],
  ['agent_id', "agent_id = agent_id || 'x'"],
  ['action_name', "action_name = 'other-action'"],
  ['intercept_index', 'intercept_index = COALESCE(intercept_index, 0) + 1000'],
  ['trace_id', "trace_id = CASE WHEN trace_id IS NULL THEN 'abc' ELSE NULL END"],
  ['span_id', "span_id = CASE WHEN span_id IS NULL THEN 'abc' ELSE upper(span_id) END"],
  ['request_headers+', `request_headers = request_headers || '{"x-injected":"1"}'`],
  ['request_headers~', `request_headers = jsonb_set(request_headers, '{accept}', '"text/html"')`],
  ['request_headers-', "request_headers = request_headers - 'authorization'"],
  [
    'response_headers',
    "response_headers = CASE WHEN response_headers IS NULL THEN '{}'::jsonb ELSE NULL END",
  ],
  ['content_encoding', "content_encoding = CASE WHEN content_encoding IS NULL THEN 'br' ELSE NULL END"],
  [
    'body_sha256',
    "body_sha256 = CASE WHEN body_sha256 IS NULL THEN repeat('0', 64) ELSE translate(body_sha256, '0123456789abcdef', '123456789abcdef0') END",
  ],
  ['body_size', 'body_size = body_size + 1'],
  ['body_truncated', 'body_truncated = NOT body_truncated'],
  ['error', "error = COALESCE(error, '') || '!'"],
  ['started_at', "started_at = started_at + interval '1 millisecond'"],
  ['started_at µs', "started_at = started_at + interval '1 microsecond'"],
  ['duration_ms', 'duration_ms = COALESCE(duration_ms, 0) * 2 + 1'],
  ['duration_ms ε', 'duration_ms = COALESCE(duration_ms, 0) + 1e-9'],
  ['org_id', `org_id = ${lit(ELSEWHERE)}`],
];

/**
 * Edits of who answered (leaf version 2 rows only: the database refuses a peer on a version-1
 * row, CHECK constraints hold even with triggers off). Each changes the value, NULL included.
 */
const PEER_EDITS: [string, string][] = [
  [
    'peer_address',
    "peer_address = CASE WHEN peer_address IS NULL THEN '198.51.100.1' ELSE peer_address || '0' END",
  ],
  [
    'peer_address other host',
    "peer_address = CASE WHEN peer_address = '127.0.0.1' THEN '::1' ELSE '127.0.0.1' END",
  ],
  ['peer_port', 'peer_port = COALESCE(peer_port, 0) + 1'],
  ['peer_port null', 'peer_port = CASE WHEN peer_port IS NULL THEN 443 ELSE NULL END'],
  ['peer_protocol', "peer_protocol = CASE WHEN peer_protocol = 'h2' THEN 'http/1.1' ELSE 'h2' END"],
  [
    'peer_tls_cert_sha256',
    "peer_tls_cert_sha256 = CASE WHEN peer_tls_cert_sha256 IS NULL THEN repeat('a', 64) ELSE translate(peer_tls_cert_sha256, '0123456789abcdef', '123456789abcdef0') END",
  ],
  ['peer_tls_subject', "peer_tls_subject = COALESCE(peer_tls_subject, 'CN=x') || ', O=Evil'"],
  [
    'peer_tls_subject_alt_name',
    "peer_tls_subject_alt_name = CASE WHEN peer_tls_subject_alt_name IS NULL THEN 'DNS:evil.example' ELSE NULL END",
  ],
  [
    'peer tls stripped',
    "peer_tls_cert_sha256 = NULL, peer_tls_subject = NULL, peer_tls_subject_alt_name = CASE WHEN peer_tls_cert_sha256 IS NULL THEN 'DNS:x' ELSE NULL END",
  ],
  ['peer_proxy', "peer_proxy = CASE WHEN peer_proxy IS NULL THEN 'http://127.0.0.1:3128' ELSE NULL END"],
  [
    'leaf_version downgrade (peer dropped)',
    `leaf_version = 1, ${['address', 'port', 'protocol', 'tls_cert_sha256', 'tls_subject', 'tls_subject_alt_name', 'proxy'].map((c) => `peer_${c} = NULL`).join(', ')}`,
  ],
];

const OPS: [string, number, Op][] = [
  [
    'edit who answered (peer, version-2 rows)',
    4,
    (r, { ids, rows }) => {
      const v2 = rows.flatMap((row, i) => (row.leaf_version === 2 ? [i] : []));
      const i = v2[int(r, v2.length)] as number;
      const [field, set] = PEER_EDITS[int(r, PEER_EDITS.length)] as [string, string];
      return {
        name: `record ${i}: ${field}`,
        stmts: [`UPDATE provably_intercepts SET ${set} WHERE id = ${lit(ids[i] as string)}`],
        expect: { kind: 'record-mismatch', leafIndex: i, ...(covered(i) ? { changed: 'record' } : {}) },
      };
    },
  ],
  [
    'upgrade a version-1 row, or retag a leaf’s kind',
    1,
    (r, { ids, rows }) => {
      if (r() < 0.5) {
        const v1 = rows.flatMap((row, i) => (row.leaf_version === 1 ? [i] : []));
        const i = v1[int(r, v1.length)] as number;
        return {
          name: `record ${i}: leaf_version 1 → 2`,
          stmts: [`UPDATE provably_intercepts SET leaf_version = 2 WHERE id = ${lit(ids[i] as string)}`],
          expect: { kind: 'record-mismatch', leafIndex: i, ...(covered(i) ? { changed: 'record' } : {}) },
        };
      }
      const i = int(r, N);
      return {
        name: `leaf ${i}: leaf_kind`,
        stmts: [
          `UPDATE provably_ledger_leaves SET leaf_kind = 'decision' WHERE org_id = ${lit(ORG)} AND leaf_index = ${i}`,
        ],
        // 'decision' is a kind this version verifies (policy decisions): the leaf now names a
        // decision row that does not exist.
        expect: { kind: 'record-missing', leafIndex: i },
      };
    },
  ],
  [
    'edit a record field',
    10,
    (r, { ids }) => {
      const i = int(r, N);
      const [field, set] = FIELD_EDITS[int(r, FIELD_EDITS.length)] as [string, string];
      return {
        name: `record ${i}: ${field}`,
        stmts: [`UPDATE provably_intercepts SET ${set} WHERE id = ${lit(ids[i] as string)}`],
        expect: { kind: 'record-mismatch', leafIndex: i, ...(covered(i) ? { changed: 'record' } : {}) },
      };
    },
  ],
  [
    'change a record id',
    1,
    (r, { ids }) => {
      const i = int(r, N);
      return {
        name: `record ${i}: new id`,
        stmts: [`UPDATE provably_intercepts SET id = gen_random_uuid() WHERE id = ${lit(ids[i] as string)}`],
        expect: { kind: 'record-missing', leafIndex: i },
      };
    },
  ],
  [
    'delete a record',
    2,
    (r, { ids }) => {
      const i = int(r, N);
      return {
        name: `record ${i}: deleted`,
        stmts: [`DELETE FROM provably_intercepts WHERE id = ${lit(ids[i] as string)}`],
        expect: { kind: 'record-missing', leafIndex: i },
      };
    },
  ],
  [
    'edit a kept body',
    3,
    (r, { ids, rows }) => {
      const i = int(r, N);
      const row = rows[i] as FixtureRow;
      const id = lit(ids[i] as string);
      let set: string;
      if (row.response_body === null) return null;
      const bytes = Buffer.from(row.response_body, 'base64').length;
      const choice = int(r, 3);
      if (choice === 0) set = 'response_body = NULL';
      else if (row.body_truncated) set = "response_body = response_body || response_body || '\\x00'::bytea";
      else if (bytes === 0) set = "response_body = '\\x01'::bytea";
      else if (choice === 1) {
        const at = int(r, bytes);
        set = `response_body = set_byte(response_body, ${at}, (get_byte(response_body, ${at}) + 1) % 256)`;
      } else set = 'response_body = substring(response_body from 2)';
      return {
        name: `record ${i}: body (${set})`,
        stmts: [`UPDATE provably_intercepts SET ${set} WHERE id = ${id}`],
        expect: { kind: 'body-mismatch', leafIndex: i, changed: 'record' },
      };
    },
  ],
  [
    'swap two records’ ids',
    2,
    (r, { ids }) => {
      const [i, j] = two(r);
      const z = lit('00000000-0000-4000-8000-000000000000');
      const [a, b] = [lit(ids[i] as string), lit(ids[j] as string)];
      return {
        name: `records ${i} ⇄ ${j}: ids`,
        stmts: [
          `UPDATE provably_intercepts SET id = ${z} WHERE id = ${a}`,
          `UPDATE provably_intercepts SET id = ${a} WHERE id = ${b}`,
          `UPDATE provably_intercepts SET id = ${b} WHERE id = ${z}`,
        ],
        expect: { kind: 'record-mismatch', leafIndex: i },
      };
    },
  ],
  [
    'swap two records’ content',
    2,
    (r, { ids }) => {
      const [i, j] = two(r);
      const cols = r() < 0.5 ? ['url', 'status'] : ['started_at'];
      return {
        name: `records ${i} ⇄ ${j}: ${cols.join(', ')}`,
        stmts: [
          `UPDATE provably_intercepts t SET ${cols.map((c) => `${c} = s.${c}`).join(', ')}
           FROM provably_intercepts s
           WHERE (t.id, s.id) IN ((${lit(ids[i] as string)}::uuid, ${lit(ids[j] as string)}::uuid),
                                  (${lit(ids[j] as string)}::uuid, ${lit(ids[i] as string)}::uuid))`,
        ],
        expect: { kind: 'record-mismatch', leafIndex: i },
      };
    },
  ],
  [
    'flip a bit of a leaf hash',
    3,
    (r) => {
      const i = int(r, N);
      const at = int(r, 32);
      return {
        name: `leaf ${i}: hash byte ${at}`,
        stmts: [
          `UPDATE provably_ledger_leaves SET leaf_hash = set_byte(leaf_hash, ${at}, get_byte(leaf_hash, ${at}) # ${1 << int(r, 8)})
           WHERE org_id = ${lit(ORG)} AND leaf_index = ${i}`,
        ],
        expect: { kind: 'record-mismatch', leafIndex: i, ...(covered(i) ? { changed: 'leaf' } : {}) },
      };
    },
  ],
  [
    'point a leaf at another record id',
    1,
    (r) => {
      const i = int(r, N);
      return {
        name: `leaf ${i}: record_id`,
        stmts: [
          `UPDATE provably_ledger_leaves SET record_id = ${lit(randomUUID())} WHERE org_id = ${lit(ORG)} AND leaf_index = ${i}`,
        ],
        expect: { kind: 'record-missing', leafIndex: i },
      };
    },
  ],
  [
    'delete or move a leaf row',
    2,
    (r) => {
      const i = int(r, N);
      const stmt =
        r() < 0.5
          ? `DELETE FROM provably_ledger_leaves WHERE org_id = ${lit(ORG)} AND leaf_index = ${i}`
          : `UPDATE provably_ledger_leaves SET org_id = ${lit(ELSEWHERE)} WHERE org_id = ${lit(ORG)} AND leaf_index = ${i}`;
      // The last leaf, not checkpointed: the log just looks shorter, and its record unlogged.
      const expectation: Expectation =
        i === N - 1 ? { kind: 'record-unlogged', leafIndex: null } : { kind: 'leaf-missing', leafIndex: i };
      return { name: `leaf ${i}: ${stmt.split(' ')[0]}`, stmts: [stmt], expect: expectation };
    },
  ],
  [
    'delete a record and its leaf',
    1,
    (r, { ids }) => {
      const i = int(r, N - 1);
      return {
        name: `record and leaf ${i}: deleted`,
        stmts: [
          `DELETE FROM provably_intercepts WHERE id = ${lit(ids[i] as string)}`,
          `DELETE FROM provably_ledger_leaves WHERE org_id = ${lit(ORG)} AND leaf_index = ${i}`,
        ],
        expect: { kind: 'leaf-missing', leafIndex: i },
      };
    },
  ],
  [
    'reorder leaf rows',
    3,
    (r, { ids }) => {
      const [i, j] = two(r);
      const org = lit(ORG);
      const kind = int(r, 4);
      if (kind === 0) {
        return {
          name: `leaves ${i} ⇄ ${j}: leaf_index`,
          stmts: [
            `UPDATE provably_ledger_leaves SET leaf_index = 1000000 WHERE org_id = ${org} AND leaf_index = ${i}`,
            `UPDATE provably_ledger_leaves SET leaf_index = ${i} WHERE org_id = ${org} AND leaf_index = ${j}`,
            `UPDATE provably_ledger_leaves SET leaf_index = ${j} WHERE org_id = ${org} AND leaf_index = 1000000`,
          ],
          expect: { kind: 'record-mismatch', leafIndex: i },
        };
      }
      if (kind === 1) {
        const z = lit('00000000-0000-4000-8000-000000000000');
        return {
          name: `leaves ${i} ⇄ ${j}: record_id`,
          stmts: [
            `UPDATE provably_ledger_leaves SET record_id = ${z} WHERE org_id = ${org} AND leaf_index = ${i}`,
            `UPDATE provably_ledger_leaves SET record_id = ${lit(ids[i] as string)} WHERE org_id = ${org} AND leaf_index = ${j}`,
            `UPDATE provably_ledger_leaves SET record_id = ${lit(ids[j] as string)} WHERE org_id = ${org} AND leaf_index = ${i}`,
          ],
          expect: { kind: 'record-mismatch', leafIndex: i },
        };
      }
      if (kind === 2) {
        return {
          name: `leaves ${i} ⇄ ${j}: leaf_hash`,
          stmts: [
            `UPDATE provably_ledger_leaves t SET leaf_hash = s.leaf_hash FROM provably_ledger_leaves s
             WHERE t.org_id = ${org} AND s.org_id = ${org}
               AND ((t.leaf_index, s.leaf_index) IN ((${i}, ${j}), (${j}, ${i})))`,
          ],
          expect: { kind: 'record-mismatch', leafIndex: i },
        };
      }
      let k = int(r, N);
      while (k === i || k === j) k = (k + 1) % N;
      const [a, b, c] = [i, j, k].sort((x, y) => x - y) as [number, number, number];
      return {
        name: `leaves ${a} → ${b} → ${c} → ${a}: leaf_index`,
        stmts: [
          `UPDATE provably_ledger_leaves SET leaf_index = leaf_index + 1000000 WHERE org_id = ${org} AND leaf_index IN (${a}, ${b}, ${c})`,
          `UPDATE provably_ledger_leaves SET leaf_index = CASE leaf_index WHEN ${a + 1000000} THEN ${b} WHEN ${b + 1000000} THEN ${c} ELSE ${a} END
           WHERE org_id = ${org} AND leaf_index >= 1000000`,
        ],
        expect: { kind: 'record-mismatch', leafIndex: a },
      };
    },
  ],
  [
    'forge a record and recompute its leaf (checkpointed range)',
    2,
    async (r, { ids, store }) => {
      const i = int(r, CHECKPOINTS.at(-1) as number);
      const record = await getIntercept(store, ids[i] as string);
      if (!record) throw new Error('fixture record missing');
      const forged = { ...record, url: `${record.url}#forged` };
      const hash = Buffer.from(recordLeafHash(forged, i)).toString('hex');
      return {
        name: `record ${i}: forged with a recomputed leaf`,
        stmts: [
          `UPDATE provably_intercepts SET url = url || '#forged' WHERE id = ${lit(ids[i] as string)}`,
          `UPDATE provably_ledger_leaves SET leaf_hash = decode(${lit(hash)}, 'hex') WHERE org_id = ${lit(ORG)} AND leaf_index = ${i}`,
        ],
        // Only the signed root can tell now: the damage is bounded to the checkpoint's range.
        expect: { kind: 'checkpoint-mismatch', leafIndex: rangeStart(i) },
      };
    },
  ],
  [
    'alter a checkpoint',
    2,
    (r, { checkpointIds }) => {
      const c = lit(checkpointIds[int(r, checkpointIds.length)] as string);
      const edits = [
        'root_hash = set_byte(root_hash, 0, get_byte(root_hash, 0) # 1)',
        'tree_size = tree_size + 1',
        'tree_size = tree_size - 1',
        `"timestamp" = "timestamp" + interval '1 millisecond'`,
        `"timestamp" = "timestamp" + interval '1 microsecond'`,
        'signature = set_byte(signature, 5, get_byte(signature, 5) # 128)',
        `key_id = ${lit(attacker.keyId)}`,
        `org_id = ${lit(ELSEWHERE)}`,
      ];
      const edit = edits[int(r, edits.length)] as string;
      if (edit.startsWith('org_id')) return null; // moves it out of this org's view: a deletion
      return {
        name: `checkpoint: ${edit}`,
        stmts: [`UPDATE provably_checkpoints SET ${edit} WHERE id = ${c}::uuid`],
        expect: { kind: 'checkpoint-invalid', leafIndex: null, changed: 'checkpoint' },
      };
    },
  ],
  [
    'add a checkpoint signed by another key',
    1,
    (r) => {
      const size = 1 + int(r, N);
      const cp = signCheckpoint({ org_id: ORG, tree_size: size, root_hash: 'ab'.repeat(32) }, attacker);
      return {
        name: `checkpoint forged by another key at size ${size}`,
        stmts: [
          `INSERT INTO provably_checkpoints (org_id, tree_size, root_hash, "timestamp", key_id, signature)
           VALUES (${lit(ORG)}, ${size}, decode(${lit(cp.root_hash)}, 'hex'), ${lit(cp.timestamp)}, ${lit(cp.key_id)}, decode(${lit(cp.signature)}, 'base64'))`,
        ],
        expect: { kind: 'checkpoint-invalid', leafIndex: null, changed: 'checkpoint' },
      };
    },
  ],
];

const TOTAL_WEIGHT = OPS.reduce((s, [, w]) => s + w, 0);
function pickOp(r: () => number): [string, Op] {
  let x = r() * TOTAL_WEIGHT;
  for (const [name, w, op] of OPS) {
    x -= w;
    if (x < 0) return [name, op];
  }
  const last = OPS.at(-1) as [string, number, Op];
  return [last[0], last[2]];
}

const SNAPSHOT = `
SELECT jsonb_build_object(
  'i', (SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM provably_intercepts t WHERE org_id IN ($1, $2)),
  'l', (SELECT jsonb_agg(to_jsonb(t) ORDER BY t.org_id, t.leaf_index) FROM provably_ledger_leaves t WHERE org_id IN ($1, $2)),
  'c', (SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM provably_checkpoints t WHERE org_id IN ($1, $2))
) AS snap`;

const RESTORE = [
  `DELETE FROM provably_ledger_leaves WHERE org_id IN (${lit(ORG)}, ${lit(ELSEWHERE)})`,
  `DELETE FROM provably_checkpoints WHERE org_id IN (${lit(ORG)}, ${lit(ELSEWHERE)})`,
  `DELETE FROM provably_intercepts WHERE org_id IN (${lit(ORG)}, ${lit(ELSEWHERE)})`,
  `INSERT INTO provably_intercepts SELECT * FROM jsonb_populate_recordset(NULL::provably_intercepts, $1->'i')`,
  `INSERT INTO provably_ledger_leaves SELECT * FROM jsonb_populate_recordset(NULL::provably_ledger_leaves, $1->'l')`,
  `INSERT INTO provably_checkpoints SELECT * FROM jsonb_populate_recordset(NULL::provably_checkpoints, $1->'c')`,
];

describeEachBackend('ledger tamper campaign', (backend) => {
  const store = useTestStore(backend);
  let ctx: Ctx;
  let snapshot: unknown;
  let fingerprint: string;

  const currentFingerprint = async () => {
    const r = await store().raw.query<{ snap: unknown }>(SNAPSHOT, [ORG, ELSEWHERE]);
    return JSON.stringify(r.rows[0]?.snap);
  };

  beforeAll(async () => {
    const s = store();
    await installTamper(s.raw);
    const rows = makeRows(ORG, N, 7);
    const ids = await insertRows(s, rows);
    const checkpointIds: string[] = [];
    let from = 0;
    for (const size of CHECKPOINTS) {
      await appendLeaves(s, ORG, ids.slice(from, size));
      checkpointIds.push((await issueCheckpoint(s, ORG, signer)).id);
      from = size;
    }
    await appendLeaves(s, ORG, ids.slice(from));
    ctx = { rows, ids, store: s, checkpointIds };
    snapshot = (await s.raw.query<{ snap: unknown }>(SNAPSHOT, [ORG, ELSEWHERE])).rows[0]?.snap;
    fingerprint = JSON.stringify(snapshot);
  });

  it('the pristine log verifies', async () => {
    expect(await verifyLog(store(), ORG, { trustedKeys })).toMatchObject({
      ok: true,
      treeSize: N,
      verifiedCheckpoints: CHECKPOINTS.length,
      uncheckpointedLeaves: N - (CHECKPOINTS.at(-1) as number),
      unloggedRecords: 0,
    });
  });

  it(`detects every one of ${ONLY_SEED === undefined ? CASES : 1} random tamper cases and names the first broken index`, async () => {
    const started = Date.now();
    const seeds = ONLY_SEED === undefined ? Array.from({ length: CASES }, (_, n) => 1000 + n) : [ONLY_SEED];
    const tally = new Map<string, number>();
    let restoredChecks = 0;
    for (const seed of seeds) {
      const r = prng(seed);
      let c: Case | null = null;
      let opName = '';
      while (c === null) {
        const [name, op] = pickOp(r);
        opName = name;
        c = await op(r, ctx);
      }
      tally.set(opName, (tally.get(opName) ?? 0) + 1);
      await tamper(store().raw, c.stmts, c.arg ?? null);
      let report: VerifyLogResult | undefined;
      try {
        report = await verifyLog(store(), ORG, { trustedKeys });
        const first = report.firstBroken;
        const where = `seed ${seed} (LEDGER_TAMPER_SEED=${seed}): ${c.name} → ${JSON.stringify(first)}`;
        expect(report.ok, where).toBe(false);
        expect(first?.kind, where).toBe(c.expect.kind);
        expect(first?.leafIndex, where).toBe(c.expect.leafIndex);
        if (c.expect.changed) expect(first?.changed, where).toBe(c.expect.changed);
        if (c.expect.kind === 'checkpoint-mismatch') {
          // The named range holds the forged index.
          expect(first?.detail, where).toMatch(/from index \d+ to \d+/);
        }
      } finally {
        await tamper(store().raw, RESTORE, snapshot);
      }
      if (seed % 25 === 0) {
        expect(await currentFingerprint(), `restore after seed ${seed}`).toBe(fingerprint);
        restoredChecks += 1;
      }
    }
    expect(await currentFingerprint()).toBe(fingerprint);
    expect((await verifyLog(store(), ORG, { trustedKeys })).ok).toBe(true);
    console.log(
      `[${backend.name}] ${seeds.length} tamper cases detected in ${Date.now() - started} ms ` +
        `(restore checked ${restoredChecks + 1}×): ${JSON.stringify(Object.fromEntries(tally))}`,
    );
  }, 600_000);

  it('catches changes below the millisecond (the drivers read times as millisecond Dates)', async () => {
    const s = store();
    await tamper(s.raw, [
      `UPDATE provably_intercepts SET started_at = started_at + interval '1 microsecond' WHERE id = ${lit(ctx.ids[3] as string)}`,
    ]);
    expect((await verifyLog(s, ORG, { trustedKeys })).firstBroken).toMatchObject({
      kind: 'record-mismatch',
      leafIndex: 3,
    });
    await tamper(s.raw, RESTORE, snapshot);
    await tamper(s.raw, [
      `UPDATE provably_checkpoints SET "timestamp" = "timestamp" + interval '1 microsecond' WHERE id = ${lit(ctx.checkpointIds[1] as string)}::uuid`,
    ]);
    const report = await verifyLog(s, ORG, { trustedKeys });
    expect(report.firstBroken).toMatchObject({
      kind: 'checkpoint-invalid',
      checkpointId: ctx.checkpointIds[1],
    });
    expect(report.firstBroken?.detail).toContain('malformed');
    await tamper(s.raw, RESTORE, snapshot);
    expect(await currentFingerprint()).toBe(fingerprint);
  });

  it('limits: what a log cannot see without an outside copy of a checkpoint', async () => {
    const s = store();
    const last = N - 1;
    // 1. Forging the newest, not yet checkpointed record together with its leaf.
    const record = await getIntercept(s, ctx.ids[last] as string);
    const forged = { ...(record as NonNullable<typeof record>), url: 'https://forged.test/' };
    const hash = Buffer.from(recordLeafHash(forged, last)).toString('hex');
    await tamper(s.raw, [
      `UPDATE provably_intercepts SET url = 'https://forged.test/' WHERE id = ${lit(ctx.ids[last] as string)}`,
      `UPDATE provably_ledger_leaves SET leaf_hash = decode(${lit(hash)}, 'hex') WHERE org_id = ${lit(ORG)} AND leaf_index = ${last}`,
    ]);
    expect((await verifyLog(s, ORG, { trustedKeys })).ok).toBe(true);
    await tamper(s.raw, RESTORE, snapshot);
    // 2. Deleting the newest record and its leaf together (never checkpointed).
    await tamper(s.raw, [
      `DELETE FROM provably_intercepts WHERE id = ${lit(ctx.ids[last] as string)}`,
      `DELETE FROM provably_ledger_leaves WHERE org_id = ${lit(ORG)} AND leaf_index = ${last}`,
    ]);
    expect(await verifyLog(s, ORG, { trustedKeys })).toMatchObject({ ok: true, treeSize: N - 1 });
    await tamper(s.raw, RESTORE, snapshot);
    // 3. Deleting checkpoints (the log then proves less, but what is left is consistent).
    await tamper(s.raw, [
      `DELETE FROM provably_checkpoints WHERE id = ${lit(ctx.checkpointIds[2] as string)}::uuid`,
    ]);
    expect(await verifyLog(s, ORG, { trustedKeys })).toMatchObject({ ok: true, verifiedCheckpoints: 2 });
    await tamper(s.raw, RESTORE, snapshot);
    // 4. A truncated body's kept prefix: only its length is bound (body_sha256 covers the whole stream).
    const truncated = ctx.rows.findIndex(
      (row) => row.body_truncated && Buffer.from(row.response_body ?? '', 'base64').length > 0,
    );
    await tamper(s.raw, [
      `UPDATE provably_intercepts SET response_body = set_byte(response_body, 0, (get_byte(response_body, 0) + 1) % 256)
       WHERE id = ${lit(ctx.ids[truncated] as string)}`,
    ]);
    expect((await verifyLog(s, ORG, { trustedKeys })).ok).toBe(true);
    await tamper(s.raw, RESTORE, snapshot);
    expect(await currentFingerprint()).toBe(fingerprint);
    // Each is caught once a checkpoint covering it exists outside the database (1, 2, 3): a
    // verifier comparing its own copy of checkpoint 3 finds it missing or contradicted.
  });
});

/**
 * The random direct edits of the evaluator tamper campaign: what a database superuser can do to
 * the stored rows with the append-only triggers off. Each edit says, before it is run, which
 * orgs' `provably verify` must then report the log broken (every other org must still verify
 * OK), or, for the few edits no log can detect by itself, which documented limit it falls under
 * (then every org must still verify OK: the limit is asserted, not assumed).
 *
 * Whether an edit changed anything at all, and whether it changed a claimed record, is not
 * declared here: the campaign measures it on the rows (see tamper-campaign-state.ts).
 */
import { recordLeafHash, signCheckpoint } from '../../src/ledger/index.js';
import { lit } from '../ledger/fixtures.js';
import {
  type CampaignLog,
  type LoggedRecord,
  ORG,
  ORG_CHECKPOINTS,
  OTHER,
  OTHER_CHECKPOINTS,
  PAYLOAD_SIZE,
} from './tamper-campaign-fixture.js';

export interface Edit {
  /** What was done, for failure messages (with the SQL). */
  name: string;
  /** The group the edit is tallied under. */
  kind: string;
  stmts: string[];
  /** Orgs whose log must verify broken; every other org must verify OK. */
  broken: string[];
  /** Set for a documented limit (broken is then empty): why no log can detect it. */
  limit?: string;
  /** The main-org record the edit is about, if any: the claim evaluated is about it when claimable. */
  target?: LoggedRecord;
}

type Rand = () => number;
type Op = (r: Rand, log: CampaignLog) => Edit;

const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)] as T;
const otherOrg = (org: string) => (org === ORG ? OTHER : ORG);

/** A UUID drawn from the case's PRNG, so a replayed seed makes the same edit. */
function uuidOf(r: Rand): string {
  const hex = Array.from({ length: 32 }, () => int(r, 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/** A record of either org (the main org four times out of five). */
function anyRecord(r: Rand, log: CampaignLog): LoggedRecord {
  return r() < 0.8 ? pick(r, log.records) : pick(r, log.other);
}

function recordsOf(log: CampaignLog, org: string): LoggedRecord[] {
  return org === ORG ? log.records : log.other;
}

function checkpointsOf(log: CampaignLog, org: string): { ids: string[]; sizes: number[] } {
  return org === ORG
    ? { ids: log.checkpointIds, sizes: [...ORG_CHECKPOINTS, PAYLOAD_SIZE] }
    : { ids: log.otherCheckpointIds, sizes: [...OTHER_CHECKPOINTS] };
}

const mainTarget = (rec: LoggedRecord) => (rec.orgId === ORG ? { target: rec } : {});
const where = (rec: LoggedRecord) => `WHERE id = ${lit(rec.row.id)}`;
const label = (rec: LoggedRecord) =>
  `${rec.orgId === ORG ? 'record' : 'other-org record'} ${rec.index} (${rec.kind})`;

/** Column edits of an intercept row; each changes the value whatever it was (NULL included). */
const COLUMN_EDITS: [string, string][] = [
  ['agent_id', "agent_id = agent_id || 'x'"],
  ['action_name', "action_name = action_name || '-x'"],
  ['intercept_index', 'intercept_index = COALESCE(intercept_index, 0) + 1000'],
  ['intercept_index null', 'intercept_index = CASE WHEN intercept_index IS NULL THEN 0 ELSE NULL END'],
  ['trace_id', "trace_id = CASE WHEN trace_id IS NULL THEN 'abc' ELSE md5(trace_id) END"],
  ['span_id', "span_id = CASE WHEN span_id IS NULL THEN 'abc' ELSE md5(span_id) END"],
  ['method', "method = CASE WHEN method = 'GET' THEN 'POST' ELSE 'GET' END"],
  ['url path', "url = url || '/x'"],
  ['url fragment', "url = url || '#t'"],
  ['url host', "url = replace(url, 'api.example.com', 'api.example.org')"],
  ['status', 'status = COALESCE(status, 199) + 1'],
  ['status null', 'status = CASE WHEN status IS NULL THEN 200 ELSE NULL END'],
  ['request_headers add', `request_headers = request_headers || '{"x-injected":"1"}'`],
  ['request_headers change', `request_headers = jsonb_set(request_headers, '{accept}', '"text/html"')`],
  ['request_headers drop', "request_headers = request_headers - 'accept'"],
  [
    'request_headers multi',
    `request_headers = request_headers || '{"accept":["application/json","text/html"]}'`,
  ],
  ['response_headers add', `response_headers = COALESCE(response_headers, '{}') || '{"x-forged":"1"}'`],
  [
    'response_headers null',
    "response_headers = CASE WHEN response_headers IS NULL THEN '{}'::jsonb ELSE NULL END",
  ],
  [
    'response_headers content-type',
    `response_headers = jsonb_set(COALESCE(response_headers, '{}'), '{content-type}', '"text/plain"')`,
  ],
  ['content_encoding', "content_encoding = CASE WHEN content_encoding IS NULL THEN 'br' ELSE NULL END"],
  [
    'body_sha256',
    "body_sha256 = CASE WHEN body_sha256 IS NULL THEN repeat('0', 64) ELSE translate(body_sha256, '0123456789abcdef', '123456789abcdef0') END",
  ],
  ['body_size +1', 'body_size = body_size + 1'],
  ['body_size -1', 'body_size = body_size - 1'],
  ['body_truncated', 'body_truncated = NOT body_truncated'],
  ['error', "error = COALESCE(error, '') || '!'"],
  ['error null', "error = CASE WHEN error IS NULL THEN 'x' ELSE NULL END"],
  ['started_at +1 ms', "started_at = started_at + interval '1 millisecond'"],
  ['started_at -1 s', "started_at = started_at - interval '1 second'"],
  ['started_at +1 µs', "started_at = started_at + interval '1 microsecond'"],
  ['duration_ms', 'duration_ms = COALESCE(duration_ms, 0) * 2 + 1'],
  // The next few doubles up (the recorder's durations are large: + 1e-9 alone can round to the same value).
  [
    'duration_ms ε',
    'duration_ms = CASE WHEN COALESCE(duration_ms, 0) = 0 THEN 1e-9 ELSE duration_ms * (1 + 1e-15) END',
  ],
  ['duration_ms null', 'duration_ms = CASE WHEN duration_ms IS NULL THEN 0 ELSE NULL END'],
];

const TRUNCATED_PREFIX =
  "a truncated body's kept prefix is bound only through its length (body_sha256 covers the whole stream): test/ledger/tamper.test.ts limits";
const CREATED_AT = 'created_at is storage metadata, in no leaf and no signature (src/ledger/leaf.ts)';
const CHECKPOINT_GONE =
  'a deleted checkpoint leaves every remaining row consistent: only an outside copy of it can tell (test/ledger/tamper.test.ts limits)';
const UNCOVERED_FORGERY =
  'a record newer than every checkpoint, forged together with its recomputed leaf, is what an append looks like: only a later checkpoint can tell (test/ledger/tamper.test.ts limits)';

function bodyEdit(r: Rand, log: CampaignLog): Edit {
  const rec = anyRecord(r, log);
  const base = { kind: 'intercept: kept body', ...mainTarget(rec) };
  const at = (set: string, broken = [rec.orgId], limit?: string): Edit => ({
    ...base,
    name: `${label(rec)}: SET ${set}`,
    stmts: [`UPDATE provably_intercepts SET ${set} ${where(rec)}`],
    broken: limit ? [] : broken,
    ...(limit ? { limit } : {}),
  });
  const kept = rec.row.responseBody?.byteLength ?? 0;
  if (rec.kind === 'failed') return at("response_body = '\\x7b7d'::bytea");
  const pos = int(r, kept);
  const flip = `response_body = set_byte(response_body, ${pos}, get_byte(response_body, ${pos}) # ${1 << int(r, 8)})`;
  if (rec.kind === 'truncated') {
    return pick(r, [
      () => at(flip, [], TRUNCATED_PREFIX),
      () => at('response_body = substring(response_body from 2)', [], TRUNCATED_PREFIX),
      () => at("response_body = response_body || decode(repeat('00', body_size::int), 'hex')"),
      () => at('response_body = NULL'),
    ])();
  }
  const other = pick(
    r,
    recordsOf(log, rec.orgId).filter((o) => o !== rec && o.kind === 'claimable'),
  );
  const forged = Buffer.from(`{"forged":${int(r, 1000)}}`);
  return pick(r, [
    () => at(flip),
    () => at('response_body = substring(response_body from 2)'),
    () => at("response_body = response_body || '\\x00'::bytea"),
    () => at('response_body = NULL'),
    () => at("response_body = ''::bytea"),
    () =>
      at(`response_body = (SELECT response_body FROM provably_intercepts WHERE id = ${lit(other.row.id)})`),
    // A coherent forgery: new bytes with their own digest and size (the leaf then disagrees).
    () =>
      at(
        `response_body = decode(${lit(forged.toString('hex'))}, 'hex'), body_sha256 = encode(sha256(decode(${lit(forged.toString('hex'))}, 'hex')), 'hex'), body_size = ${forged.length}, content_encoding = NULL`,
      ),
  ])();
}

function swapRecords(r: Rand, log: CampaignLog): Edit {
  const org = r() < 0.8 ? ORG : OTHER;
  const recs = recordsOf(log, org);
  const a = pick(r, recs);
  const b = pick(
    r,
    recs.filter((x) => x !== a),
  );
  const cols = pick(r, [
    ['url', 'status'],
    ['started_at'],
    ['response_body'],
    ['response_body', 'body_sha256', 'body_size', 'content_encoding'],
    ['agent_id', 'action_name', 'intercept_index', 'trace_id', 'span_id', 'method', 'url', 'status'],
  ]);
  const [ia, ib] = [lit(a.row.id), lit(b.row.id)];
  return {
    kind: 'intercept: swap two rows’ columns',
    name: `${label(a)} ⇄ ${label(b)}: ${cols.join(', ')}`,
    stmts: [
      `UPDATE provably_intercepts t SET ${cols.map((c) => `${c} = s.${c}`).join(', ')}
       FROM provably_intercepts s
       WHERE (t.id, s.id) IN ((${ia}::uuid, ${ib}::uuid), (${ib}::uuid, ${ia}::uuid))`,
    ],
    broken: [org],
    ...mainTarget(a),
  };
}

function leafOp(r: Rand, log: CampaignLog): Edit {
  const org = r() < 0.8 ? ORG : OTHER;
  const recs = recordsOf(log, org);
  const size = recs.length;
  const rec = pick(r, recs);
  const i = rec.index;
  let j = int(r, size - 1);
  if (j >= i) j += 1;
  const o = lit(org);
  const leaf = (n: number) => `org_id = ${o} AND leaf_index = ${n}`;
  const edit = (name: string, stmts: string[], broken = [org]): Edit => ({
    kind: `leaf: ${name.split(/[ :]/)[0]}`,
    name: `${org === ORG ? 'leaf' : 'other-org leaf'} ${i}: ${name}`,
    stmts,
    broken,
    ...mainTarget(rec),
  });
  const parked = 1_000_000;
  return pick(r, [
    () => {
      const at = int(r, 32);
      return edit('hash bit', [
        `UPDATE provably_ledger_leaves SET leaf_hash = set_byte(leaf_hash, ${at}, get_byte(leaf_hash, ${at}) # ${1 << int(r, 8)}) WHERE ${leaf(i)}`,
      ]);
    },
    () =>
      edit(`hash: copied from leaf ${j}`, [
        `UPDATE provably_ledger_leaves SET leaf_hash = (SELECT leaf_hash FROM provably_ledger_leaves WHERE ${leaf(j)}) WHERE ${leaf(i)}`,
      ]),
    () =>
      edit(`index: moved to ${size + 5}`, [
        `UPDATE provably_ledger_leaves SET leaf_index = ${size + 5} WHERE ${leaf(i)}`,
      ]),
    () =>
      edit(`index: swapped with ${j}`, [
        `UPDATE provably_ledger_leaves SET leaf_index = ${parked} WHERE ${leaf(i)}`,
        `UPDATE provably_ledger_leaves SET leaf_index = ${i} WHERE ${leaf(j)}`,
        `UPDATE provably_ledger_leaves SET leaf_index = ${j} WHERE ${leaf(parked)}`,
      ]),
    () => {
      let k = int(r, size);
      while (k === i || k === j) k = (k + 1) % size;
      return edit(`index: rotated ${i} → ${j} → ${k} → ${i}`, [
        `UPDATE provably_ledger_leaves SET leaf_index = leaf_index + ${parked} WHERE org_id = ${o} AND leaf_index IN (${i}, ${j}, ${k})`,
        `UPDATE provably_ledger_leaves SET leaf_index = CASE leaf_index WHEN ${i + parked} THEN ${j} WHEN ${j + parked} THEN ${k} ELSE ${i} END
         WHERE org_id = ${o} AND leaf_index >= ${parked}`,
      ]);
    },
    () =>
      edit('record_id: another id', [
        `UPDATE provably_ledger_leaves SET record_id = ${lit(uuidOf(r))} WHERE ${leaf(i)}`,
      ]),
    () => {
      const z = lit('00000000-0000-4000-8000-000000000000');
      const idOf = (n: number) => lit((recs[n] as LoggedRecord).row.id);
      return edit(`record_id: swapped with leaf ${j}`, [
        `UPDATE provably_ledger_leaves SET record_id = ${z} WHERE ${leaf(i)}`,
        `UPDATE provably_ledger_leaves SET record_id = ${idOf(i)} WHERE ${leaf(j)}`,
        `UPDATE provably_ledger_leaves SET record_id = ${idOf(j)} WHERE ${leaf(i)}`,
      ]);
    },
    () => edit('delete', [`DELETE FROM provably_ledger_leaves WHERE ${leaf(i)}`]),
    () =>
      edit(
        'org: moved to the other org',
        [
          `UPDATE provably_ledger_leaves SET org_id = ${lit(otherOrg(org))}, leaf_index = leaf_index + ${parked} WHERE ${leaf(i)}`,
        ],
        [org, otherOrg(org)],
      ),
    () =>
      edit(`insert: a leaf at ${size} for no record`, [
        `INSERT INTO provably_ledger_leaves (org_id, leaf_index, record_id, leaf_hash)
         VALUES (${o}, ${size}, ${lit(uuidOf(r))}, sha256(${lit(`forged ${int(r, 1e6)}`)}::bytea))`,
      ]),
  ])();
}

/** A record forged with its leaf hash recomputed (the leaf format is public). */
function coherentForgery(r: Rand, log: CampaignLog): Edit {
  const org = r() < 0.8 ? ORG : OTHER;
  const rec = pick(r, recordsOf(log, org));
  const covered = rec.index < Math.max(...checkpointsOf(log, org).sizes);
  const url = `${rec.row.url}?forged=${int(r, 1000)}`;
  const hash = Buffer.from(recordLeafHash({ ...rec.row, url }, rec.index)).toString('hex');
  return {
    kind: `forgery: record + recomputed leaf (${covered ? 'checkpointed' : 'uncovered'})`,
    name: `${label(rec)}: url and leaf hash forged together`,
    stmts: [
      `UPDATE provably_intercepts SET url = ${lit(url)} ${where(rec)}`,
      `UPDATE provably_ledger_leaves SET leaf_hash = decode(${lit(hash)}, 'hex') WHERE record_id = ${lit(rec.row.id)}`,
    ],
    broken: covered ? [org] : [],
    ...(covered ? {} : { limit: UNCOVERED_FORGERY }),
    ...mainTarget(rec),
  };
}

function checkpointOp(r: Rand, log: CampaignLog): Edit {
  const org = r() < 0.8 ? ORG : OTHER;
  const { ids, sizes } = checkpointsOf(log, org);
  const n = int(r, ids.length);
  const id = lit(ids[n] as string);
  const edit = (name: string, stmt: string, broken = [org], limit?: string): Edit => ({
    kind: `checkpoint: ${name.split(/[ :]/)[0]}`,
    name: `${org === ORG ? 'checkpoint' : 'other-org checkpoint'} at ${sizes[n]}: ${name}`,
    stmts: [stmt],
    broken: limit ? [] : broken,
    ...(limit ? { limit } : {}),
  });
  const set = (name: string, expr: string, broken = [org]) =>
    edit(name, `UPDATE provably_checkpoints SET ${expr} WHERE id = ${id}::uuid`, broken);
  return pick(r, [
    () => {
      const at = int(r, 32);
      return set('root_hash bit', `root_hash = set_byte(root_hash, ${at}, get_byte(root_hash, ${at}) # 1)`);
    },
    () => set('tree_size +1', 'tree_size = tree_size + 1'),
    () => set('tree_size -1', 'tree_size = tree_size - 1'),
    () => set('timestamp +1 ms', `"timestamp" = "timestamp" + interval '1 millisecond'`),
    () => set('timestamp +1 µs', `"timestamp" = "timestamp" + interval '1 microsecond'`),
    () => {
      const at = int(r, 64);
      return set('signature bit', `signature = set_byte(signature, ${at}, get_byte(signature, ${at}) # 128)`);
    },
    () => set('key_id: an untrusted key', `key_id = ${lit(log.attacker.keyId)}`),
    () => set('key_id: unknown', "key_id = 'no-such-key'"),
    // Gone from this org (nothing contradicts that), present and invalid in the other.
    () => set('org_id: moved to the other org', `org_id = ${lit(otherOrg(org))}`, [otherOrg(org)]),
    () => edit('delete', `DELETE FROM provably_checkpoints WHERE id = ${id}::uuid`, [], CHECKPOINT_GONE),
    () => {
      const size = 1 + int(r, recordsOf(log, org).length);
      const cp = signCheckpoint(
        { org_id: org, tree_size: size, root_hash: uuidOf(r).replaceAll('-', '').repeat(2) },
        log.attacker,
      );
      return edit(
        `insert: signed by an untrusted key at size ${size}`,
        `INSERT INTO provably_checkpoints (org_id, tree_size, root_hash, "timestamp", key_id, signature)
         VALUES (${lit(org)}, ${size}, decode(${lit(cp.root_hash)}, 'hex'), ${lit(cp.timestamp)}, ${lit(cp.key_id)}, decode(${lit(cp.signature)}, 'base64'))`,
      );
    },
  ])();
}

const OPS: [number, Op][] = [
  [
    14,
    (r, log) => {
      const rec = anyRecord(r, log);
      const [column, set] = pick(r, COLUMN_EDITS);
      return {
        kind: 'intercept: content column',
        name: `${label(rec)}: ${column} (SET ${set})`,
        stmts: [`UPDATE provably_intercepts SET ${set} ${where(rec)}`],
        broken: [rec.orgId],
        ...mainTarget(rec),
      };
    },
  ],
  [7, bodyEdit],
  [
    1,
    (r, log) => {
      const rec = anyRecord(r, log);
      return {
        kind: 'intercept: id',
        name: `${label(rec)}: new id`,
        stmts: [`UPDATE provably_intercepts SET id = ${lit(uuidOf(r))} ${where(rec)}`],
        broken: [rec.orgId],
        ...mainTarget(rec),
      };
    },
  ],
  [
    1,
    (r, log) => {
      const rec = anyRecord(r, log);
      return {
        kind: 'intercept: org_id',
        name: `${label(rec)}: moved to the other org`,
        stmts: [`UPDATE provably_intercepts SET org_id = ${lit(otherOrg(rec.orgId))} ${where(rec)}`],
        broken: [ORG, OTHER],
        ...mainTarget(rec),
      };
    },
  ],
  [
    2,
    (r, log) => {
      const rec = anyRecord(r, log);
      return {
        kind: 'intercept: delete',
        name: `${label(rec)}: deleted`,
        stmts: [`DELETE FROM provably_intercepts ${where(rec)}`],
        broken: [rec.orgId],
        ...mainTarget(rec),
      };
    },
  ],
  [2, swapRecords],
  [
    1,
    (r, log) => {
      const rec = anyRecord(r, log);
      const copy = lit(uuidOf(r));
      return {
        kind: 'intercept: insert',
        name: `${label(rec)}: copied under a new id (never logged)`,
        stmts: [
          `INSERT INTO provably_intercepts (id, org_id, agent_id, action_name, intercept_index, trace_id, span_id,
             method, url, status, request_headers, response_headers, response_body, content_encoding, body_sha256,
             body_size, body_truncated, error, started_at, duration_ms, created_at)
           SELECT ${copy}::uuid, org_id, agent_id, action_name, intercept_index, trace_id,
             span_id, method, url, status, request_headers, response_headers, response_body, content_encoding,
             body_sha256, body_size, body_truncated, error, started_at, duration_ms, created_at
           FROM provably_intercepts ${where(rec)}`,
        ],
        broken: [rec.orgId],
      };
    },
  ],
  [
    1,
    (r, log) => {
      const table = pick(r, ['provably_intercepts', 'provably_ledger_leaves', 'provably_checkpoints']);
      const rec = anyRecord(r, log);
      const key =
        table === 'provably_intercepts'
          ? `id = ${lit(rec.row.id)}`
          : table === 'provably_ledger_leaves'
            ? `record_id = ${lit(rec.row.id)}`
            : `id = (SELECT id FROM provably_checkpoints WHERE org_id = ${lit(rec.orgId)} ORDER BY tree_size DESC LIMIT 1)`;
      return {
        kind: 'created_at (unbound)',
        name: `${table} row of ${label(rec)}: created_at + 1 s`,
        stmts: [`UPDATE ${table} SET created_at = created_at + interval '1 second' WHERE ${key}`],
        broken: [],
        limit: CREATED_AT,
      };
    },
  ],
  [12, leafOp],
  [2, coherentForgery],
  [6, checkpointOp],
];

const TOTAL = OPS.reduce((s, [w]) => s + w, 0);

/** One random edit, drawn from the case's PRNG. */
export function drawEdit(r: Rand, log: CampaignLog): Edit {
  let x = r() * TOTAL;
  for (const [w, op] of OPS) {
    x -= w;
    if (x < 0) return op(r, log);
  }
  return (OPS.at(-1) as [number, Op])[1](r, log);
}

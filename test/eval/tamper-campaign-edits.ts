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
import { lit } from '../ledger/fixtures.js';
import { decisionOp } from './tamper-campaign-decisions.js';
import {
  anyRecord,
  type Edit,
  int,
  label,
  mainTarget,
  type Op,
  otherOrg,
  pick,
  type Rand,
  recordsOf,
  uuidOf,
  where,
} from './tamper-campaign-edit-kit.js';
import { type CampaignLog, ORG, OTHER } from './tamper-campaign-fixture.js';
import { checkpointOp, coherentForgery, leafOp } from './tamper-campaign-ledger-edits.js';

export type { Edit } from './tamper-campaign-edit-kit.js';

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
  // Who answered (every record here is leaf version 2; a failed call has no peer).
  [
    'peer_address',
    "peer_address = CASE WHEN peer_address IS NULL THEN '198.51.100.7' ELSE peer_address || '9' END",
  ],
  ['peer_address swap', "peer_address = CASE WHEN peer_address = '::1' THEN '127.0.0.1' ELSE '::1' END"],
  ['peer_port', 'peer_port = COALESCE(peer_port, 0) + 1'],
  ['peer_protocol', "peer_protocol = CASE WHEN peer_protocol = 'h2' THEN 'http/1.1' ELSE 'h2' END"],
  [
    'peer_tls_cert_sha256',
    "peer_tls_cert_sha256 = CASE WHEN peer_tls_cert_sha256 IS NULL THEN repeat('b', 64) ELSE translate(peer_tls_cert_sha256, '0123456789abcdef', '123456789abcdef0') END",
  ],
  ['peer_tls_subject', "peer_tls_subject = COALESCE(peer_tls_subject, 'CN=x') || ', O=Evil'"],
  [
    'peer_tls_subject_alt_name',
    "peer_tls_subject_alt_name = CASE WHEN peer_tls_subject_alt_name IS NULL THEN 'DNS:evil.example' ELSE NULL END",
  ],
  ['peer_proxy', "peer_proxy = CASE WHEN peer_proxy IS NULL THEN 'http://127.0.0.1:3128' ELSE NULL END"],
  [
    'leaf_version downgrade (peer dropped)',
    'leaf_version = 1, peer_address = NULL, peer_port = NULL, peer_protocol = NULL, peer_tls_cert_sha256 = NULL, peer_tls_subject = NULL, peer_tls_subject_alt_name = NULL, peer_proxy = NULL',
  ],
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
  // Policy decisions, their leaves and escalations (a third org).
  [16, decisionOp],
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

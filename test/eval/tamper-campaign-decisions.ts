/**
 * The tamper campaign's policy decisions: a third org (DECISIONS) whose log holds only what a
 * local ProvablyGateway records — decisions, guarded calls' outcomes, escalations approved,
 * rejected, expired and pending — and the superuser edits of those rows, their leaves and the
 * escalation rows (which are not leaves: verify checks them against the decision leaves that
 * recorded them, src/ledger/verify-escalations.ts).
 *
 * Log (leaf order): ALLOW, BLOCK, guarded ok (decision, outcome), guarded failing (decision,
 * outcome), escalations approved / rejected / expired (decision, end event each) — a checkpoint
 * at 12 — then a pending escalation and an ALLOW that no checkpoint covers yet.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type DecisionLeafRow,
  decisionLeafHash,
  issueCheckpoint,
  type Signer,
} from '../../src/ledger/index.js';
import { decideEscalation, expireEscalation, ProvablyGateway } from '../../src/policy/index.js';
import type { Store } from '../../src/store/index.js';
import { lit } from '../ledger/fixtures.js';
import { decisionRows } from '../policy/helpers.js';
import { type Edit, int, pick, type Rand, uuidOf } from './tamper-campaign-edit-kit.js';
import type { CampaignLog } from './tamper-campaign-fixture.js';

export const DECISIONS = 'campaign-decisions';
export const DECISION_CHECKPOINT = 12;
const MAIN = 'campaign'; // tamper-campaign-fixture.ts ORG (not imported: the fixture imports this file)

export interface LoggedDecision {
  index: number;
  /** The row as stored (DecisionLeafRow form). */
  row: DecisionLeafRow;
}

export interface DecisionLog {
  decisions: LoggedDecision[];
  /** Escalation ids by their status. */
  escalations: { id: string; status: 'approved' | 'rejected' | 'expired' | 'pending' }[];
}

const POLICY = `
@reason("reads are fine") permit (principal, action == Action::"crm.read", resource);
@reason("no deletes") forbid (principal, action == Action::"crm.delete", resource);
permit (principal, action == Action::"crm.delete", resource);
@escalate("large payment") permit (principal, action == Action::"pay", resource);
@escalate("quick") @hold("1") permit (principal, action == Action::"pay.quick", resource);
`;

/** Writes the DECISIONS org's log through a real local gateway, and signs it at 12 leaves. */
export async function writeDecisionLog(store: Store, signer: Signer): Promise<DecisionLog> {
  const gw = new ProvablyGateway({
    agentId: 'agent-d',
    policy: POLICY,
    store,
    tenant: DECISIONS,
    watch: false,
    redactParams: ['card'],
  });
  const escalations: DecisionLog['escalations'] = [];
  try {
    await gw.session('sess-d', (s) => s.execute('crm.read', { id: 1.5, note: 'é \u2028 "q"', card: '4111' }));
    await gw.execute('crm.delete', { id: 9 }, { throwOnBlock: false });
    await gw.guard('crm.read', async (id: number) => ({ id, ok: true }))(7);
    await gw
      .guard('crm.read', async () => {
        throw new Error('upstream said no');
      })()
      .catch(() => {});
    for (const [decision, reviewer] of [
      ['approve', 'alice@example.com'],
      ['reject', 'bob'],
    ] as const) {
      const held = await gw.execute('pay', { amount: 5000, card: '4111' }, { wait: false });
      await decideEscalation(store, {
        id: held.escalationId as string,
        decision,
        reviewer,
        reason: 'checked',
      });
      escalations.push({
        id: held.escalationId as string,
        status: decision === 'approve' ? 'approved' : 'rejected',
      });
    }
    const quick = await gw.execute('pay.quick', { amount: 1 }, { wait: false });
    await sleep(1100);
    if ((await expireEscalation(store, quick.escalationId as string)) === null)
      throw new Error('not expired');
    escalations.push({ id: quick.escalationId as string, status: 'expired' });
    await issueCheckpoint(store, DECISIONS, signer);
    const pending = await gw.execute('pay', { amount: 6000 }, { wait: false });
    escalations.push({ id: pending.escalationId as string, status: 'pending' });
    await gw.execute('crm.read', { id: 2 });
  } finally {
    await gw.close();
  }
  const rows = await decisionRows(store, 'd.org_id = $1', [DECISIONS]);
  const decisions = rows
    .map((r) => ({ index: Number(r.leaf_index), row: r as unknown as DecisionLeafRow }))
    .sort((a, b) => a.index - b.index);
  if (decisions.length !== 14 || decisions.some((d, i) => d.index !== i)) {
    throw new Error(`unexpected decision log: ${decisions.map((d) => d.index).join(',')}`);
  }
  return { decisions, escalations };
}

const UNCOVERED_FORGERY =
  'a decision newer than every checkpoint, forged together with its recomputed leaf, is what an append looks like: only a later checkpoint can tell (test/ledger/tamper.test.ts limits)';
const EXPIRY_UNBOUND =
  "an escalation's expires_at is bound by no leaf: only its order against decided_at is checked (README: escalations and verify)";
const PENDING_UNBOUND =
  "a pending escalation's id, created_at and expires_at are bound by no leaf until it is decided (README: escalations and verify)";

/** Column edits of a decision row; each changes the value whatever it was, or is a measured no-op. */
const DECISION_COLUMNS: [string, string][] = [
  ['reason', "reason = reason || '!'"],
  [
    'decision',
    "decision = CASE decision WHEN 'ALLOW' THEN 'BLOCK' WHEN 'BLOCK' THEN 'ALLOW' WHEN 'ESCALATE' THEN 'ALLOW' END",
  ],
  ['mode', "mode = CASE mode WHEN 'enforce' THEN 'log_only' ELSE 'enforce' END"],
  ['agent_id', "agent_id = agent_id || 'x'"],
  ['action_name', "action_name = action_name || '-x'"],
  ['session_id', "session_id = CASE WHEN session_id IS NULL THEN 'sess-x' ELSE NULL END"],
  ['params add', `params = params || '{"amount": 1}'`],
  ['params unredacted', `params = params || '{"card": "4111"}'`],
  ['params emptied', `params = '{}'::jsonb`],
  ['params_sha256', "params_sha256 = translate(params_sha256, '0123456789abcdef', '123456789abcdef0')"],
  ['policy_version', "policy_version = policy_version || 'x'"],
  ['policy_ids', `policy_ids = policy_ids || '["forged"]'`],
  ['escalation_id', 'escalation_id = CASE WHEN escalation_id IS NULL THEN gen_random_uuid() ELSE NULL END'],
  [
    'escalation_status',
    "escalation_status = CASE escalation_status WHEN 'approved' THEN 'rejected' WHEN 'rejected' THEN 'approved' WHEN 'expired' THEN 'approved' END",
  ],
  ['reviewer', "reviewer = COALESCE(reviewer, '') || 'x'"],
  ['parent_id', 'parent_id = CASE WHEN parent_id IS NULL THEN gen_random_uuid() ELSE NULL END'],
  ['trace_id', "trace_id = CASE WHEN trace_id IS NULL THEN 'abc' ELSE md5(trace_id) END"],
  ['span_id', "span_id = CASE WHEN span_id IS NULL THEN 'abc' ELSE md5(span_id) END"],
  ['outcome', `outcome = COALESCE(outcome, '{}') || '{"forged": true}'`],
  ['decided_at +1 ms', "decided_at = decided_at + interval '1 millisecond'"],
  ['decided_at -1 s', "decided_at = decided_at - interval '1 second'"],
  ['decided_at +1 µs', "decided_at = decided_at + interval '1 microsecond'"],
  ['duration_ms', 'duration_ms = COALESCE(duration_ms, 0) * 2 + 1'],
  ['duration_ms null', 'duration_ms = CASE WHEN duration_ms IS NULL THEN 0 ELSE NULL END'],
  [
    'event_type',
    "event_type = CASE event_type WHEN 'decision' THEN 'escalation' WHEN 'escalation' THEN 'decision' ELSE 'outcome' END",
  ],
];

/** Column edits of an escalation row. */
const ESCALATION_COLUMNS: [string, string][] = [
  [
    'status',
    "status = CASE status WHEN 'pending' THEN 'approved' WHEN 'approved' THEN 'rejected' ELSE 'approved' END",
  ],
  ['reviewer', "reviewer = COALESCE(reviewer, '') || 'x'"],
  ['decision_reason', "decision_reason = COALESCE(decision_reason, '') || '!'"],
  ['decided_at', "decided_at = decided_at + interval '1 millisecond'"],
  ['params', `params = params || '{"amount": 1}'`],
  ['params_sha256', "params_sha256 = translate(params_sha256, '0123456789abcdef', '123456789abcdef0')"],
  ['reason', "reason = reason || '!'"],
  ['agent_id', "agent_id = agent_id || 'x'"],
  ['action_name', "action_name = action_name || '-x'"],
  ['session_id', "session_id = CASE WHEN session_id IS NULL THEN 'sess-x' ELSE NULL END"],
  ['policy_version', "policy_version = policy_version || 'x'"],
  ['policy_ids', `policy_ids = policy_ids || '["forged"]'`],
  ['trace_id', "trace_id = CASE WHEN trace_id IS NULL THEN 'abc' ELSE NULL END"],
  ['event_id', 'event_id = gen_random_uuid()'],
  ['decision_event_id', 'decision_event_id = gen_random_uuid()'],
];

const D = lit(DECISIONS);

function decisionEdit(name: string, stmts: string[], broken = [DECISIONS]): Edit {
  return { kind: `decision: ${name.split(' (')[0]?.split(':')[0]}`, name, stmts, broken };
}

/** One random edit of the DECISIONS org's rows, leaves or escalations. */
export function decisionOp(r: Rand, log: CampaignLog): Edit {
  const { decisions, escalations } = log.decisionLog;
  const d = pick(r, decisions);
  const id = lit(String(d.row.id));
  const at = `decision ${d.index} (${String(d.row.event_type)})`;
  const esc = pick(r, escalations);
  const eid = lit(esc.id);
  const escAt = `escalation (${esc.status})`;
  const leaf = (n: number) => `org_id = ${D} AND leaf_index = ${n}`;
  return pick(r, [
    // Decision rows: 5 of 11.
    ...Array.from({ length: 5 }, () => () => {
      const [column, set] = pick(r, DECISION_COLUMNS);
      return decisionEdit(`row: ${at}: ${column} (SET ${set})`, [
        `UPDATE provably_decisions SET ${set} WHERE id = ${id}`,
      ]);
    }),
    () =>
      decisionEdit(`row: ${at}: new id`, [
        `UPDATE provably_decisions SET id = ${lit(uuidOf(r))} WHERE id = ${id}`,
      ]),
    () =>
      decisionEdit(
        `row: ${at}: moved to the main org`,
        [`UPDATE provably_decisions SET org_id = ${lit(MAIN)} WHERE id = ${id}`],
        [DECISIONS, MAIN],
      ),
    () =>
      pick(r, [
        () => decisionEdit(`row: ${at}: deleted`, [`DELETE FROM provably_decisions WHERE id = ${id}`]),
        () =>
          decisionEdit(`row: ${at}: copied under a new id (never logged)`, [
            `INSERT INTO provably_decisions SELECT ${lit(uuidOf(r))}::uuid, org_id, event_type, decision, mode, reason,
               agent_id, action_name, session_id, params, params_sha256, policy_version, policy_ids, NULL, NULL, reviewer,
               parent_id, trace_id, span_id, outcome, decided_at, duration_ms, created_at
             FROM provably_decisions WHERE id = ${id}`,
          ]),
      ])(),
    // Decision leaves.
    () =>
      pick(r, [
        () => {
          const byte = int(r, 32);
          return decisionEdit(`leaf: ${at}: hash bit`, [
            `UPDATE provably_ledger_leaves SET leaf_hash = set_byte(leaf_hash, ${byte}, get_byte(leaf_hash, ${byte}) # ${1 << int(r, 8)}) WHERE ${leaf(d.index)}`,
          ]);
        },
        () =>
          decisionEdit(`leaf: ${at}: deleted`, [`DELETE FROM provably_ledger_leaves WHERE ${leaf(d.index)}`]),
        () => {
          const other = pick(
            r,
            decisions.filter((x) => x !== d),
          );
          const z = lit('00000000-0000-4000-8000-000000000000');
          return decisionEdit(`leaf: ${at}: record_id swapped with leaf ${other.index}`, [
            `UPDATE provably_ledger_leaves SET record_id = ${z} WHERE ${leaf(d.index)}`,
            `UPDATE provably_ledger_leaves SET record_id = ${id} WHERE ${leaf(other.index)}`,
            `UPDATE provably_ledger_leaves SET record_id = ${lit(String(other.row.id))} WHERE ${leaf(d.index)}`,
          ]);
        },
      ])(),
    // A decision forged with its leaf hash recomputed (the leaf format is public).
    () => {
      const reason = `${String(d.row.reason)} (forged ${int(r, 1000)})`;
      const hash = Buffer.from(decisionLeafHash({ ...d.row, reason }, d.index)).toString('hex');
      const covered = d.index < DECISION_CHECKPOINT;
      // An ESCALATE decision's reason is also its escalation row's: that check tells.
      const held = d.row.event_type === 'decision' && d.row.decision === 'ESCALATE';
      const detected = covered || held;
      return {
        kind: `decision: forgery: row + recomputed leaf (${covered ? 'checkpointed' : held ? 'uncovered, escalated' : 'uncovered'})`,
        name: `${at}: reason and leaf hash forged together`,
        stmts: [
          `UPDATE provably_decisions SET reason = ${lit(reason)} WHERE id = ${id}`,
          `UPDATE provably_ledger_leaves SET leaf_hash = decode(${lit(hash)}, 'hex') WHERE record_id = ${id}`,
        ],
        broken: detected ? [DECISIONS] : [],
        ...(detected ? {} : { limit: UNCOVERED_FORGERY }),
      };
    },
    // Escalation rows.
    () => escalationEdit(r, esc.status, escAt, eid, log),
  ])();
}

function escalationEdit(r: Rand, status: string, at: string, eid: string, log: CampaignLog): Edit {
  const pending = status === 'pending';
  const edit = (name: string, stmts: string[], limit?: string): Edit => ({
    kind: `escalation: ${name.split(' (')[0]?.split(':')[0]}`,
    name: `${at}: ${name}`,
    stmts,
    broken: limit ? [] : [DECISIONS],
    ...(limit ? { limit } : {}),
  });
  const allow = log.decisionLog.decisions[0] as LoggedDecision;
  return pick(r, [
    () => {
      const [column, set] = pick(r, ESCALATION_COLUMNS);
      return edit(`${column} (SET ${set})`, [`UPDATE provably_escalations SET ${set} WHERE id = ${eid}`]);
    },
    () => {
      const [column, set] = pick(r, ESCALATION_COLUMNS);
      return edit(`${column} (SET ${set})`, [`UPDATE provably_escalations SET ${set} WHERE id = ${eid}`]);
    },
    () => edit('deleted', [`DELETE FROM provably_escalations WHERE id = ${eid}`]),
    () =>
      edit('copied under a new id for an ALLOW decision', [
        `INSERT INTO provably_escalations SELECT ${lit(uuidOf(r))}::uuid, org_id, ${lit(String(allow.row.id))}::uuid,
           agent_id, action_name, session_id, params, params_sha256, reason, policy_version, policy_ids, trace_id,
           span_id, status, created_at, expires_at, decided_at, reviewer, decision_reason, decision_event_id
         FROM provably_escalations WHERE id = ${eid}`,
      ]),
    () =>
      pending
        ? edit(
            'new id',
            [`UPDATE provably_escalations SET id = ${lit(uuidOf(r))} WHERE id = ${eid}`],
            PENDING_UNBOUND,
          )
        : edit('new id', [`UPDATE provably_escalations SET id = ${lit(uuidOf(r))} WHERE id = ${eid}`]),
    () =>
      pending
        ? edit(
            'created_at - 1 s',
            [
              `UPDATE provably_escalations SET created_at = created_at - interval '1 second' WHERE id = ${eid}`,
            ],
            PENDING_UNBOUND,
          )
        : edit('created_at - 1 s (the time it was held)', [
            `UPDATE provably_escalations SET created_at = created_at - interval '1 second' WHERE id = ${eid}`,
          ]),
    () => {
      // Across decided_at: an approval or rejection after expiry, an expiry before it.
      const across =
        status === 'expired' ? "expires_at + interval '1 day'" : "decided_at - interval '1 millisecond'";
      const within =
        status === 'expired' ? "expires_at - interval '1 hour'" : "expires_at + interval '1 hour'";
      return pending
        ? edit(
            'expires_at + 1 h',
            [`UPDATE provably_escalations SET expires_at = expires_at + interval '1 hour' WHERE id = ${eid}`],
            PENDING_UNBOUND,
          )
        : r() < 0.5
          ? edit(`expires_at across decided_at (${across})`, [
              `UPDATE provably_escalations SET expires_at = ${across} WHERE id = ${eid}`,
            ])
          : edit(
              `expires_at within bounds (${within})`,
              [`UPDATE provably_escalations SET expires_at = ${within} WHERE id = ${eid}`],
              EXPIRY_UNBOUND,
            );
    },
  ])();
}

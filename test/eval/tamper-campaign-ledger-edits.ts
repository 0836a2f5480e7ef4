/**
 * The campaign's edits of the ledger's own rows: leaves (hash, index, record id, delete, move,
 * insert), a record forged together with its recomputed leaf, and checkpoints (every signed
 * field, org, delete, a forged insert).
 */
import { recordLeafHash, signCheckpoint } from '../../src/ledger/index.js';
import { lit } from '../ledger/fixtures.js';
import {
  checkpointsOf,
  type Edit,
  int,
  label,
  mainTarget,
  otherOrg,
  pick,
  type Rand,
  recordsOf,
  uuidOf,
  where,
} from './tamper-campaign-edit-kit.js';
import { type CampaignLog, type LoggedRecord, ORG, OTHER } from './tamper-campaign-fixture.js';

const CHECKPOINT_GONE =
  'a deleted checkpoint leaves every remaining row consistent: only an outside copy of it can tell (test/ledger/tamper.test.ts limits)';
const UNCOVERED_FORGERY =
  'a record newer than every checkpoint, forged together with its recomputed leaf, is what an append looks like: only a later checkpoint can tell (test/ledger/tamper.test.ts limits)';

export function leafOp(r: Rand, log: CampaignLog): Edit {
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
export function coherentForgery(r: Rand, log: CampaignLog): Edit {
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

export function checkpointOp(r: Rand, log: CampaignLog): Edit {
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

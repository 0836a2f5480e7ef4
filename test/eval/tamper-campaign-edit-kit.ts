/**
 * Shared pieces of the tamper campaign's edits (tamper-campaign-edits.ts draws them): the Edit
 * shape and small helpers over the PRNG and the pristine log.
 */
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

export type Rand = () => number;
export type Op = (r: Rand, log: CampaignLog) => Edit;

export const int = (r: Rand, n: number) => Math.floor(r() * n);
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)] as T;
export const otherOrg = (org: string) => (org === ORG ? OTHER : ORG);

/** A UUID drawn from the case's PRNG, so a replayed seed makes the same edit. */
export function uuidOf(r: Rand): string {
  const hex = Array.from({ length: 32 }, () => int(r, 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/** A record of either org (the main org four times out of five). */
export function anyRecord(r: Rand, log: CampaignLog): LoggedRecord {
  return r() < 0.8 ? pick(r, log.records) : pick(r, log.other);
}

export function recordsOf(log: CampaignLog, org: string): LoggedRecord[] {
  return org === ORG ? log.records : log.other;
}

export function checkpointsOf(log: CampaignLog, org: string): { ids: string[]; sizes: number[] } {
  return org === ORG
    ? { ids: log.checkpointIds, sizes: [...ORG_CHECKPOINTS, PAYLOAD_SIZE] }
    : { ids: log.otherCheckpointIds, sizes: [...OTHER_CHECKPOINTS] };
}

export const mainTarget = (rec: LoggedRecord) => (rec.orgId === ORG ? { target: rec } : {});
export const where = (rec: LoggedRecord) => `WHERE id = ${lit(rec.row.id)}`;
export const label = (rec: LoggedRecord) =>
  `${rec.orgId === ORG ? 'record' : 'other-org record'} ${rec.index} (${rec.kind})`;

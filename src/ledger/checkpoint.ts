/**
 * Signed checkpoints: an org's tree size and root hash at one moment, signed with Ed25519.
 *
 * The signed message is this UTF-8 text, every line ending in "\n" (including the last):
 *
 *   provably-checkpoint/v1
 *   <org_id>
 *   <tree_size>          decimal, no sign, no leading zeros
 *   <root_hash>          64 lower-case hex characters (RFC 6962 MTH, SHA-256)
 *   <timestamp>          YYYY-MM-DDTHH:mm:ss.sssZ (UTC, milliseconds, as toISOString writes it)
 *
 * The key id is not part of the message: it only says which trusted key to check the signature
 * with, and a signature is valid under one key only. Each field has exactly one accepted form,
 * so one checkpoint has exactly one message; org ids holding control characters (a newline
 * could fake a line) cannot be checkpointed. "v1" also fixes the leaf format (leaf.ts).
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { ProvablyLedgerArgumentError } from './errors.js';
import { keyIdOf, type Signer, type TrustedKeys } from './keys.js';

export const CHECKPOINT_FORMAT = 'provably-checkpoint/v1';

export interface Checkpoint {
  org_id: string;
  tree_size: number;
  /** Lower-case hex MTH of the first tree_size leaves. */
  root_hash: string;
  /** UTC with milliseconds, as toISOString writes it. */
  timestamp: string;
  key_id: string;
  /** Ed25519 signature (64 bytes) over checkpointMessage(...), standard base64 with padding. */
  signature: string;
}

/** The fields a checkpoint signs. */
export type CheckpointBody = Pick<Checkpoint, 'org_id' | 'tree_size' | 'root_hash' | 'timestamp'>;

const ROOT_HEX = /^[0-9a-f]{64}$/;
const KEY_ID = /^[0-9a-f]{16}$/;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** The exact text a checkpoint's signature covers. Throws ProvablyLedgerArgumentError on a bad field. */
export function checkpointMessage(body: CheckpointBody): string {
  const problem = bodyProblem(body);
  if (problem) throw new ProvablyLedgerArgumentError(problem.field, problem.detail);
  return messageOf(body);
}

function messageOf(body: CheckpointBody): string {
  return `${CHECKPOINT_FORMAT}\n${body.org_id}\n${body.tree_size}\n${body.root_hash}\n${body.timestamp}\n`;
}

/** Signs the checkpoint of `org_id` at `tree_size` with root `root_hash` (timestamp default: now). */
export function signCheckpoint(
  fields: {
    org_id: string;
    tree_size: number;
    root_hash: string | Uint8Array;
    timestamp?: Date | string;
  },
  signer: Signer,
): Checkpoint {
  const timestamp = fields.timestamp ?? new Date();
  const body: CheckpointBody = {
    org_id: fields.org_id,
    tree_size: fields.tree_size,
    root_hash:
      typeof fields.root_hash === 'string' ? fields.root_hash : Buffer.from(fields.root_hash).toString('hex'),
    timestamp: timestamp instanceof Date ? isoOrInvalid(timestamp) : timestamp,
  };
  const message = checkpointMessage(body);
  const signature = Buffer.from(signer.sign(new TextEncoder().encode(message))).toString('base64');
  return { ...body, key_id: signer.keyId, signature };
}

export type CheckpointFailure =
  /** A field is missing or not in its one accepted form. */
  | 'malformed'
  /** No trusted key has this key id. */
  | 'unknown-key'
  /** The trusted key for this id is not an Ed25519 public key with that id. */
  | 'bad-key'
  /** The signature does not verify under the trusted key. */
  | 'bad-signature';

export type CheckpointCheck =
  | { ok: true; checkpoint: Checkpoint }
  | { ok: false; reason: CheckpointFailure; detail: string };

/**
 * Checks a checkpoint's form and its signature against the trusted keys. Never throws: every
 * problem is a typed failure. On success `checkpoint` holds only the six checkpoint fields.
 */
export function verifyCheckpoint(checkpoint: unknown, trustedKeys: TrustedKeys): CheckpointCheck {
  if (checkpoint === null || typeof checkpoint !== 'object') {
    return { ok: false, reason: 'malformed', detail: 'expected a checkpoint object' };
  }
  const c = checkpoint as Record<string, unknown>;
  const problem = bodyProblem(c);
  if (problem) return { ok: false, reason: 'malformed', detail: `${problem.field}: ${problem.detail}` };
  const body = c as unknown as CheckpointBody;
  if (typeof c.key_id !== 'string' || !KEY_ID.test(c.key_id)) {
    return { ok: false, reason: 'malformed', detail: 'key_id: expected 16 lower-case hex characters' };
  }
  const keyId = c.key_id;
  const signature = typeof c.signature === 'string' ? strictBase64(c.signature) : null;
  if (signature === null || signature.byteLength !== 64) {
    return { ok: false, reason: 'malformed', detail: 'signature: expected base64 of 64 bytes' };
  }
  if (trustedKeys === null || typeof trustedKeys !== 'object' || !Object.hasOwn(trustedKeys, keyId)) {
    return { ok: false, reason: 'unknown-key', detail: `no trusted key has id ${keyId}` };
  }
  const pem = String(trustedKeys[keyId]);
  const message = messageOf(body);
  // A handoff carries the same checkpoint in every claim: a signature already verified under
  // the very same key PEM is not verified again (only successes are remembered).
  const memoKey = `${pem}\n${c.signature as string}\n${message}`;
  if (verifiedSignatures.has(memoKey)) return accepted(body, keyId, c.signature as string);
  let key: KeyObject;
  try {
    key = parsedKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${String(key.asymmetricKeyType)} key`);
    if (keyIdOf(key) !== keyId) throw new Error(`its key id is ${keyIdOf(key)}`);
  } catch (err) {
    return {
      ok: false,
      reason: 'bad-key',
      detail: `the trusted key for ${keyId} is not its Ed25519 public key (${(err as Error).message})`,
    };
  }
  let valid = false;
  try {
    valid = verify(null, new TextEncoder().encode(message), key, signature);
  } catch {
    valid = false;
  }
  if (!valid)
    return { ok: false, reason: 'bad-signature', detail: `the signature does not verify under ${keyId}` };
  if (verifiedSignatures.size >= MEMO_LIMIT) verifiedSignatures.clear();
  verifiedSignatures.add(memoKey);
  return accepted(body, keyId, c.signature as string);
}

const MEMO_LIMIT = 1024;
const verifiedSignatures = new Set<string>();
const parsedKeys = new Map<string, KeyObject>();

/** PEM parsing costs more than the signature check itself; keys are few and reused. */
function parsedKey(pem: string): KeyObject {
  let key = parsedKeys.get(pem);
  if (key === undefined) {
    key = createPublicKey(pem);
    if (parsedKeys.size >= MEMO_LIMIT) parsedKeys.clear();
    parsedKeys.set(pem, key);
  }
  return key;
}

function accepted(body: CheckpointBody, keyId: string, signature: string): CheckpointCheck {
  return {
    ok: true,
    checkpoint: {
      org_id: body.org_id,
      tree_size: body.tree_size,
      root_hash: body.root_hash,
      timestamp: body.timestamp,
      key_id: keyId,
      signature,
    },
  };
}

function bodyProblem(c: Record<string, unknown> | CheckpointBody): { field: string; detail: string } | null {
  if (c === null || typeof c !== 'object') return { field: 'checkpoint', detail: 'expected an object' };
  const { org_id, tree_size, root_hash, timestamp } = c as Record<string, unknown>;
  if (
    typeof org_id !== 'string' ||
    org_id === '' ||
    org_id !== org_id.trim() ||
    org_id.length > 200 ||
    CONTROL.test(org_id) ||
    LONE_SURROGATE.test(org_id)
  ) {
    return {
      field: 'org_id',
      detail: 'expected 1-200 characters, no surrounding spaces, no control characters',
    };
  }
  if (typeof tree_size !== 'number' || !Number.isSafeInteger(tree_size) || tree_size < 0) {
    return { field: 'tree_size', detail: `expected a safe integer ≥ 0, got ${String(tree_size)}` };
  }
  if (typeof root_hash !== 'string' || !ROOT_HEX.test(root_hash)) {
    return { field: 'root_hash', detail: 'expected 64 lower-case hex characters' };
  }
  if (
    typeof timestamp !== 'string' ||
    !ISO_MS.test(timestamp) ||
    isoOrInvalid(new Date(timestamp)) !== timestamp
  ) {
    return { field: 'timestamp', detail: 'expected an ISO 8601 UTC time with milliseconds (toISOString)' };
  }
  return null;
}

function isoOrInvalid(d: Date): string {
  return Number.isNaN(d.getTime()) ? 'invalid date' : d.toISOString();
}

/** Decodes standard padded base64, refusing any other spelling of the same bytes. */
function strictBase64(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return null;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? new Uint8Array(bytes) : null;
}

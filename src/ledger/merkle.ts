/**
 * Merkle Tree Hashes, inclusion proofs and consistency proofs exactly as RFC 6962 §2.1 and
 * RFC 9162 §2.1 define them, with SHA-256:
 *
 *   leaf hash  = SHA-256(0x00 ‖ leaf bytes)
 *   node hash  = SHA-256(0x01 ‖ left ‖ right)
 *   MTH({})    = SHA-256("")
 *   MTH(D[n])  = node hash of MTH(D[0:k]) and MTH(D[k:n]), k the largest power of two < n
 *
 * Generation (PATH and PROOF of RFC 9162 §2.1.3.1 / §2.1.4.1) works on the leaf hashes; it is
 * the log's own operation, so an impossible request throws ProvablyLedgerArgumentError.
 * Verification (§2.1.3.2 / §2.1.4.2) works on evidence from elsewhere and never throws: every
 * bad size, index, hash length or proof length is a typed failure.
 *
 * Proof nodes are ordered as the RFC builds them: the node nearest the leaf first, the
 * sibling of the root's child last. Tree sizes and indexes are JavaScript numbers: safe
 * integers (up to 2^53 - 1) are accepted, anything else is refused.
 */
import { createHash } from 'node:crypto';
import { ProvablyLedgerArgumentError } from './errors.js';

/** Bytes in every hash (SHA-256). */
export const HASH_SIZE = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** RFC 6962 leaf hash: SHA-256(0x00 ‖ data). */
export function leafHash(data: Uint8Array): Uint8Array {
  return plain(createHash('sha256').update(LEAF_PREFIX).update(data).digest());
}

/** RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return plain(createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest());
}

/** MTH of the empty tree: SHA-256 of no bytes. */
export function emptyRoot(): Uint8Array {
  return plain(createHash('sha256').digest());
}

/**
 * The digest as a plain Uint8Array over the same memory: hashes handed out are plain arrays,
 * whose slice() copies (Buffer#slice would return a view).
 */
function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * A tree over leaf hashes that can grow (append) and answer for any earlier size: the root at
 * size n, PATH(m, D[n]) and PROOF(m, D[n]).
 *
 * It keeps every complete, aligned subtree hash (2^k leaves starting at a multiple of 2^k): at
 * most 2n hashes in one growable buffer per level, so 64 bytes per leaf. Every subtree that
 * RFC 6962's split visits is such a subtree or a right edge of them, so a root costs O(log n)
 * hashes and a proof O(log² n). Building from n leaves costs n - 1 hashes.
 */
export class MerkleTree {
  readonly #levels: Level[] = [new Level()];

  constructor(leafHashes: Iterable<Uint8Array> = []) {
    for (const h of leafHashes) this.append(h);
  }

  /** Leaves in the tree. */
  get size(): number {
    return (this.#levels[0] as Level).count;
  }

  /** Adds one leaf hash (32 bytes) at index `size`. */
  append(hash: Uint8Array): void {
    if (!isHash(hash)) {
      throw new ProvablyLedgerArgumentError('leafHash', `expected ${HASH_SIZE} bytes, got ${describe(hash)}`);
    }
    let level = 0;
    let node = hash;
    for (;;) {
      const here = this.#levels[level] as Level;
      here.push(node);
      // An even count means the last two nodes of this level just completed a parent.
      if (here.count % 2 !== 0) return;
      node = nodeHash(here.get(here.count - 2), here.get(here.count - 1));
      level += 1;
      if (this.#levels.length === level) this.#levels.push(new Level());
    }
  }

  /** The leaf hash at `index` (a copy). */
  leaf(index: number): Uint8Array {
    this.#checkIndex('index', index, this.size);
    return new Uint8Array((this.#levels[0] as Level).get(index));
  }

  /** MTH(D[0:size]) (default: the whole tree). */
  root(size: number = this.size): Uint8Array {
    this.#checkSize('size', size);
    return new Uint8Array(this.#range(0, size));
  }

  /** PATH(index, D[0:size]): the inclusion proof of leaf `index` in the tree of `size` leaves. */
  inclusionPath(index: number, size: number = this.size): Uint8Array[] {
    this.#checkSize('size', size);
    this.#checkIndex('index', index, size);
    const path: Uint8Array[] = [];
    let start = 0;
    let end = size;
    let m = index;
    // Walks from the root down; the RFC's recursion appends each sibling after the deeper ones,
    // so the siblings collected here are reversed at the end.
    while (end - start > 1) {
      const k = largestPowerOfTwoBelow(end - start);
      if (m < k) {
        path.push(this.#range(start + k, end));
        end = start + k;
      } else {
        path.push(this.#range(start, start + k));
        start += k;
        m -= k;
      }
    }
    return path.reverse().map((h) => new Uint8Array(h));
  }

  /**
   * PROOF(size1, D[0:size2]): the consistency proof between the trees of size1 and size2
   * leaves, 1 ≤ size1 ≤ size2 (empty when they are equal).
   */
  consistencyPath(size1: number, size2: number = this.size): Uint8Array[] {
    this.#checkSize('size2', size2);
    if (!Number.isSafeInteger(size1) || size1 < 1 || size1 > size2) {
      throw new ProvablyLedgerArgumentError(
        'size1',
        `expected an integer from 1 to size2 (${size2}), got ${String(size1)}`,
      );
    }
    const proof: Uint8Array[] = [];
    let start = 0;
    let end = size2;
    let m = size1;
    let whole = true;
    // SUBPROOF(m, D[start:end], whole), unrolled: each step adds one sibling, deepest last
    // here, so the list is reversed at the end.
    while (m !== end - start) {
      const k = largestPowerOfTwoBelow(end - start);
      if (m <= k) {
        proof.push(this.#range(start + k, end));
        end = start + k;
      } else {
        proof.push(this.#range(start, start + k));
        start += k;
        m -= k;
        whole = false;
      }
    }
    if (!whole) proof.push(this.#range(start, end));
    return proof.reverse().map((h) => new Uint8Array(h));
  }

  /** MTH(D[start:end]); start is aligned for every range the RFC's recursion produces. */
  #range(start: number, end: number): Uint8Array {
    const n = end - start;
    if (n === 0) return emptyRoot();
    const level = exactLog2(n);
    if (level !== -1 && start % n === 0) return (this.#levels[level] as Level).get(start / n);
    const k = largestPowerOfTwoBelow(n);
    return nodeHash(this.#range(start, start + k), this.#range(start + k, end));
  }

  #checkSize(name: string, size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) {
      throw new ProvablyLedgerArgumentError(
        name,
        `expected an integer from 0 to the tree size (${this.size}), got ${String(size)}`,
      );
    }
  }

  #checkIndex(name: string, index: number, size: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new ProvablyLedgerArgumentError(
        name,
        `expected an integer from 0 to ${size - 1} (tree size ${size}), got ${String(index)}`,
      );
    }
  }
}

/** One level of complete subtree hashes, packed into one growable buffer. */
class Level {
  #buf = new Uint8Array(HASH_SIZE * 16);
  count = 0;

  push(hash: Uint8Array): void {
    const at = this.count * HASH_SIZE;
    if (at + HASH_SIZE > this.#buf.byteLength) {
      const next = new Uint8Array(this.#buf.byteLength * 2);
      next.set(this.#buf);
      this.#buf = next;
    }
    this.#buf.set(hash, at);
    this.count += 1;
  }

  /** A view (not a copy): callers copy before handing it out. */
  get(i: number): Uint8Array {
    return this.#buf.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }
}

/** MTH of the leaves with these hashes. */
export function rootHash(leafHashes: readonly Uint8Array[]): Uint8Array {
  return new MerkleTree(leafHashes).root();
}

/** PATH(index, D[0:size]) over these leaf hashes (size defaults to all of them). */
export function inclusionPath(
  leafHashes: readonly Uint8Array[],
  index: number,
  size: number = leafHashes.length,
): Uint8Array[] {
  return new MerkleTree(leafHashes.slice(0, clampSize(size, leafHashes.length))).inclusionPath(index, size);
}

/** PROOF(size1, D[0:size2]) over these leaf hashes (size2 defaults to all of them). */
export function consistencyPath(
  leafHashes: readonly Uint8Array[],
  size1: number,
  size2: number = leafHashes.length,
): Uint8Array[] {
  return new MerkleTree(leafHashes.slice(0, clampSize(size2, leafHashes.length))).consistencyPath(
    size1,
    size2,
  );
}

function clampSize(size: number, available: number): number {
  // Out-of-range sizes are reported by the tree itself with a proper message.
  return Number.isSafeInteger(size) && size >= 0 && size <= available ? size : available;
}

// ---- verification ------------------------------------------------------------------------

export type ProofFailure =
  /** An argument of the wrong shape (not a Uint8Array, not an array). */
  | 'malformed'
  /** A tree size that is not a safe non-negative integer, or impossible for this proof. */
  | 'bad-size'
  /** A leaf index that is not a safe non-negative integer, or not below the tree size. */
  | 'bad-index'
  /** A leaf hash, root hash or proof node that is not 32 bytes. */
  | 'bad-hash-length'
  /** Too many or too few proof nodes for these sizes. */
  | 'bad-proof-length'
  /** The proof does not lead to the given root (or roots). */
  | 'root-mismatch';

export type ProofCheck = { ok: true } | { ok: false; reason: ProofFailure; detail: string };

export interface InclusionProofInput {
  leafIndex: number;
  treeSize: number;
  /** The leaf's RFC 6962 leaf hash (not its data). */
  leafHash: Uint8Array;
  proof: readonly Uint8Array[];
  rootHash: Uint8Array;
}

/**
 * RFC 9162 §2.1.3.2: recomputes the root from the leaf hash and the inclusion path and compares
 * it with `rootHash`.
 */
export function verifyInclusion(input: InclusionProofInput): ProofCheck {
  const computed = rootFromInclusionProof(input);
  if (!computed.ok) return computed;
  if (!isHash(input?.rootHash)) return hashLengthFailure('root hash', input?.rootHash);
  return bytesEqual(computed.root, input.rootHash)
    ? { ok: true }
    : fail('root-mismatch', 'the inclusion proof does not lead to the root hash');
}

/** The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1-4), or why there is none. */
export function rootFromInclusionProof(
  input: Omit<InclusionProofInput, 'rootHash'>,
): { ok: true; root: Uint8Array } | { ok: false; reason: ProofFailure; detail: string } {
  if (input === null || typeof input !== 'object') return fail('malformed', 'expected an object');
  const { leafIndex, treeSize, leafHash: hash, proof } = input;
  if (!isSize(treeSize)) return fail('bad-size', `tree size ${String(treeSize)} is not a safe integer ≥ 0`);
  if (!isSize(leafIndex))
    return fail('bad-index', `leaf index ${String(leafIndex)} is not a safe integer ≥ 0`);
  if (leafIndex >= treeSize) {
    return fail('bad-index', `leaf index ${leafIndex} is not below the tree size ${treeSize}`);
  }
  if (!isHash(hash)) return hashLengthFailure('leaf hash', hash);
  const nodes = checkNodes(proof);
  if (!nodes.ok) return nodes;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r: Uint8Array = hash;
  for (const p of proof) {
    if (sn === 0) return fail('bad-proof-length', `more proof nodes than a tree of ${treeSize} needs`);
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return fail('bad-proof-length', `fewer proof nodes than a tree of ${treeSize} needs`);
  return { ok: true, root: r };
}

export interface ConsistencyProofInput {
  size1: number;
  size2: number;
  root1: Uint8Array;
  root2: Uint8Array;
  proof: readonly Uint8Array[];
}

/**
 * RFC 9162 §2.1.4.2: checks that the tree of size2 leaves with root2 extends the tree of size1
 * leaves with root1.
 *
 * - size1 must be at least 1: every tree extends the empty tree, so such a proof proves nothing
 *   and is refused (as the reference test vectors expect).
 * - size1 = size2: the proof must be empty and the roots identical byte strings. Their length is
 *   deliberately not checked here: this compares the caller's own two values (a tree is
 *   consistent with itself), and the reference vectors require accepting equal roots of any
 *   length. Every other case requires 32-byte roots and proof nodes.
 */
export function verifyConsistency(input: ConsistencyProofInput): ProofCheck {
  if (input === null || typeof input !== 'object') return fail('malformed', 'expected an object');
  const { size1, size2, root1, root2, proof } = input;
  if (!isSize(size1) || !isSize(size2)) {
    return fail('bad-size', `tree sizes ${String(size1)} and ${String(size2)} must be safe integers ≥ 0`);
  }
  if (size1 > size2) return fail('bad-size', `size1 (${size1}) is greater than size2 (${size2})`);
  if (size1 === 0) {
    return fail('bad-size', 'a consistency proof from the empty tree proves nothing (size1 is 0)');
  }
  if (!(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array)) {
    return fail('malformed', 'root1 and root2 must be Uint8Arrays');
  }
  const nodes = checkNodes(proof);
  if (!nodes.ok) return nodes;
  if (size1 === size2) {
    if (proof.length !== 0) return fail('bad-proof-length', 'equal sizes take an empty proof');
    return bytesEqual(root1, root2) ? { ok: true } : fail('root-mismatch', 'equal sizes but different roots');
  }
  if (!isHash(root1)) return hashLengthFailure('root1', root1);
  if (!isHash(root2)) return hashLengthFailure('root2', root2);
  if (proof.length === 0) return fail('bad-proof-length', 'the proof is empty');
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) return fail('bad-proof-length', `more proof nodes than sizes ${size1} → ${size2} need`);
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return fail('bad-proof-length', `fewer proof nodes than sizes ${size1} → ${size2} need`);
  if (!bytesEqual(fr, root1)) return fail('root-mismatch', 'the proof does not lead to root1');
  if (!bytesEqual(sr, root2)) return fail('root-mismatch', 'the proof does not lead to root2');
  return { ok: true };
}

// ---- helpers -----------------------------------------------------------------------------

function fail(reason: ProofFailure, detail: string): { ok: false; reason: ProofFailure; detail: string } {
  return { ok: false, reason, detail };
}

function hashLengthFailure(
  what: string,
  value: unknown,
): { ok: false; reason: ProofFailure; detail: string } {
  if (!(value instanceof Uint8Array)) return fail('malformed', `${what} must be a Uint8Array`);
  return fail('bad-hash-length', `${what} is ${value.byteLength} bytes, expected ${HASH_SIZE}`);
}

function checkNodes(proof: unknown): { ok: true } | { ok: false; reason: ProofFailure; detail: string } {
  if (!Array.isArray(proof)) return fail('malformed', 'the proof must be an array of Uint8Arrays');
  for (let i = 0; i < proof.length; i++) {
    if (!isHash(proof[i])) return hashLengthFailure(`proof node ${i}`, proof[i]);
  }
  return { ok: true };
}

function isHash(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array && v.byteLength === HASH_SIZE;
}

function isSize(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Byte-wise equality (the values compared are public: no constant-time need). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Arithmetic rather than bitwise operators: JavaScript's bit operators work on 32 bits, tree
// sizes may be larger.
function isOdd(n: number): boolean {
  return n % 2 === 1;
}

function half(n: number): number {
  return Math.floor(n / 2);
}

function isPowerOfTwo(n: number): boolean {
  return exactLog2(n) !== -1;
}

/** log2(n) when n is a power of two, else -1. */
function exactLog2(n: number): number {
  if (n < 1) return -1;
  let k = 0;
  while (n % 2 === 0) {
    n /= 2;
    k += 1;
  }
  return n === 1 ? k : -1;
}

/** The largest power of two strictly below n (n ≥ 2). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function describe(v: unknown): string {
  return v instanceof Uint8Array ? `${v.byteLength} bytes` : typeof v;
}

/**
 * The compact range of a Merkle tree: the roots of its perfect subtrees, left to right (one per
 * set bit of the size, largest first). It is all a log needs to keep to append leaves and get
 * the new root (RFC 6962's MTH) without reading the old leaves again: O(log n) hashes, stored
 * with each checkpoint so the next one only hashes the leaves added since.
 */
import { ProvablyLedgerArgumentError } from './errors.js';
import { emptyRoot, HASH_SIZE, nodeHash } from './merkle.js';

export class CompactRange {
  #size: number;
  /** Subtree roots, left (largest) to right. */
  readonly #nodes: Uint8Array[];

  private constructor(size: number, nodes: Uint8Array[]) {
    this.#size = size;
    this.#nodes = nodes;
  }

  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /** The range of a tree of `size` leaves from its stored form; throws when they do not fit. */
  static parse(size: number, bytes: Uint8Array): CompactRange {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new ProvablyLedgerArgumentError('size', `expected a safe integer ≥ 0, got ${String(size)}`);
    }
    const expected = popcount(size);
    if (bytes.byteLength !== expected * HASH_SIZE) {
      throw new ProvablyLedgerArgumentError(
        'frontier',
        `a tree of ${size} leaves has ${expected} subtree roots, got ${bytes.byteLength} bytes`,
      );
    }
    const nodes: Uint8Array[] = [];
    for (let i = 0; i < expected; i++) {
      nodes.push(new Uint8Array(bytes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)));
    }
    return new CompactRange(size, nodes);
  }

  get size(): number {
    return this.#size;
  }

  /** Appends one leaf hash: merges equal-sized subtrees like a binary counter's carries. */
  append(leafHash: Uint8Array): void {
    if (!(leafHash instanceof Uint8Array) || leafHash.byteLength !== HASH_SIZE) {
      throw new ProvablyLedgerArgumentError('leafHash', `expected ${HASH_SIZE} bytes`);
    }
    let node = leafHash;
    // Each trailing 1 bit of the old size is a subtree of the new node's size: merge them.
    for (let s = this.#size; s % 2 === 1; s = Math.floor(s / 2)) {
      node = nodeHash(this.#nodes.pop() as Uint8Array, node);
    }
    this.#nodes.push(node);
    this.#size += 1;
  }

  /** MTH of the tree: the subtree roots folded from the right. */
  root(): Uint8Array {
    if (this.#nodes.length === 0) return emptyRoot();
    let acc = this.#nodes[this.#nodes.length - 1] as Uint8Array;
    for (let i = this.#nodes.length - 2; i >= 0; i--) acc = nodeHash(this.#nodes[i] as Uint8Array, acc);
    return acc;
  }

  /** The stored form: the subtree roots concatenated. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#nodes.length * HASH_SIZE);
    this.#nodes.forEach((n, i) => {
      out.set(n, i * HASH_SIZE);
    });
    return out;
  }
}

function popcount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}

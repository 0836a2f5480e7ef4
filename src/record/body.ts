/**
 * Bounded capture of one response body: copies at most `cap` bytes (callers may reuse their
 * buffers), hashes every byte incrementally and counts the full size. Bytes go into one buffer
 * that doubles as needed (never past the cap), so the kept body is never held twice at the end
 * (a chunk list joined at the end would peak at twice the cap) and the cost stays linear.
 */
import { createHash, type Hash } from 'node:crypto';

// First allocation; most API bodies fit, and doubling from here reaches 16 MiB in 10 steps.
const INITIAL_BYTES = 16 * 1024;

export class BodyCapture {
  readonly cap: number;
  private readonly hash: Hash = createHash('sha256');
  private buffer: Buffer | null = null;
  private kept = 0;
  /** Every byte seen, kept or not. */
  size = 0;
  truncated = false;
  /** Whether any chunk arrived (an empty chunk counts). */
  touched = false;
  private digestHex: string | null = null;

  constructor(cap: number) {
    this.cap = cap;
  }

  push(bytes: Uint8Array): void {
    if (this.digestHex !== null) return;
    this.touched = true;
    const n = bytes.byteLength;
    if (n === 0) return;
    this.hash.update(bytes);
    this.size += n;
    const room = this.cap - this.kept;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const take = Math.min(n, room);
    if (take < n) this.truncated = true;
    this.reserve(this.kept + take);
    (this.buffer as Buffer).set(take === n ? bytes : bytes.subarray(0, take), this.kept);
    this.kept += take;
  }

  private reserve(needed: number): void {
    const current = this.buffer?.byteLength ?? 0;
    if (needed <= current) return;
    let size = Math.max(current * 2, INITIAL_BYTES);
    while (size < needed) size *= 2;
    const next = Buffer.allocUnsafe(Math.min(size, this.cap));
    if (this.buffer !== null) this.buffer.copy(next, 0, 0, this.kept);
    this.buffer = next;
  }

  /** Hex SHA-256 of every byte pushed. Ends the capture: later pushes are ignored. */
  sha256(): string {
    if (this.digestHex === null) this.digestHex = this.hash.digest('hex');
    return this.digestHex;
  }

  /** The kept bytes (a view, no copy). Ends the capture; later calls return the same bytes. */
  keptBytes(): Buffer {
    this.sha256();
    return this.buffer === null ? Buffer.alloc(0) : this.buffer.subarray(0, this.kept);
  }

  get keptSize(): number {
    return this.kept;
  }
}

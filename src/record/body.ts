/**
 * Bounded capture of one response body: copies at most `cap` bytes (callers may reuse their
 * buffers), hashes every byte incrementally and counts the full size. Chunks are kept as a list
 * and joined once at the end, so the cost is linear in the bytes kept.
 */
import { createHash, type Hash } from 'node:crypto';

export class BodyCapture {
  readonly cap: number;
  private readonly hash: Hash = createHash('sha256');
  private readonly parts: Uint8Array[] = [];
  private kept = 0;
  /** Every byte seen, kept or not. */
  size = 0;
  truncated = false;
  /** Whether any chunk arrived (an empty chunk counts). */
  touched = false;
  private digestHex: string | null = null;
  private joined: Buffer | null = null;

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
    const copy = new Uint8Array(take);
    copy.set(take === n ? bytes : bytes.subarray(0, take));
    this.parts.push(copy);
    this.kept += take;
  }

  /** Hex SHA-256 of every byte pushed. Ends the capture: later pushes are ignored. */
  sha256(): string {
    if (this.digestHex === null) this.digestHex = this.hash.digest('hex');
    return this.digestHex;
  }

  /**
   * The kept bytes as one Buffer (a Uint8Array), joined once. Ends the capture and lets go of the
   * chunk list; later calls return the same Buffer.
   */
  keptBytes(): Buffer {
    if (this.joined === null) {
      this.sha256();
      const only = this.parts.length === 1 ? (this.parts[0] as Uint8Array) : null;
      this.joined = only
        ? Buffer.from(only.buffer, only.byteOffset, only.byteLength)
        : Buffer.concat(this.parts, this.kept);
      this.parts.length = 0;
    }
    return this.joined;
  }

  get keptSize(): number {
    return this.kept;
  }
}

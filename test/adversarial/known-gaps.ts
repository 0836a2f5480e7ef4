/**
 * Attempts that FAIL on the code in this tree, each with what happens today. The suite asserts
 * that every id listed here still fails (so a fix forces its removal from this list) and that
 * every other attempt passes. Never weaken an attempt's expectation to move it off this list:
 * fix the product, then delete the line.
 *
 * `nodeMajors` limits an entry to the Node versions where it fails (bundled undici and Node's
 * own proxy support differ between majors); without it the entry holds on every version.
 */
export interface KnownGap {
  reason: string;
  nodeMajors?: number[];
}

export const KNOWN_GAPS: Record<string, KnownGap | string> = {};

/** The known gap for `id` on this Node version, if any. */
export function knownGap(id: string): string | undefined {
  const gap = KNOWN_GAPS[id];
  if (gap === undefined) return undefined;
  if (typeof gap === 'string') return gap;
  const major = Number(process.versions.node.split('.')[0]);
  return gap.nodeMajors === undefined || gap.nodeMajors.includes(major) ? gap.reason : undefined;
}

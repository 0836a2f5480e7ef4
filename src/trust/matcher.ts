/**
 * Deciding whether a concrete URL is trusted by a set of registered entries.
 *
 * `matchTrustedUrl` is the plain reference: parse every entry, test each, keep the most
 * specific. `createTrustMatcher` compiles the entries once into origin → segment trie, so a
 * match costs O(path depth) map lookups however many entries are registered; both give the
 * same answer (property-tested).
 */
import { normalizeUrlParts, type SplitUrl } from './normalize.js';
import {
  compareSpecificity,
  fitsParam,
  isPlaceholderSafe,
  matchesPattern,
  parseTrustEntry,
  type TrustPattern,
} from './template.js';

export interface TrustMatcher {
  /** The registered entry (as given) that trusts `url`, or null. Never throws. */
  match(url: string): string | null;
  /** How many entries were registered. */
  readonly size: number;
}

/**
 * Returns the registered entry (as given) that trusts `url`, the most specific when several
 * do, or null. A URL that cannot be normalized is never trusted. Throws ProvablyUrlError for
 * an invalid registered entry, whatever the URL.
 */
export function matchTrustedUrl(url: string, registered: readonly string[]): string | null {
  const patterns = registered.map(parseTrustEntry);
  const target = tryNormalize(url);
  if (target === null) return null;
  let best: TrustPattern | undefined;
  for (const p of patterns) {
    if (p.origin !== target.origin || !matchesPattern(p, target.segments)) continue;
    if (best === undefined || compareSpecificity(p, best) < 0) best = p;
  }
  return best?.entry ?? null;
}

/** One trie node: the path consumed so far is the same for every entry below it. */
interface TrieNode {
  literals: Map<string, TrieNode>;
  /** Child for a `{name}` segment. */
  param: TrieNode | undefined;
  /** Best entry ending exactly here (exact entries, templates ending with `{name}`). */
  end: TrustPattern | undefined;
  /** Best entry ending here with `{name:path}`: matches any non-empty safe remainder. */
  rest: TrustPattern | undefined;
}

/** Compiles the entries; throws ProvablyUrlError naming the first invalid one. */
export function createTrustMatcher(registered: readonly string[]): TrustMatcher {
  const roots = new Map<string, TrieNode>();
  for (const entry of registered) insert(roots, parseTrustEntry(entry));
  return {
    size: registered.length,
    match(url: string): string | null {
      const target = tryNormalize(url);
      if (target === null) return null;
      const root = roots.get(target.origin);
      return root === undefined ? null : (search(root, target.segments)?.entry ?? null);
    },
  };
}

function newNode(): TrieNode {
  return { literals: new Map(), param: undefined, end: undefined, rest: undefined };
}

function insert(roots: Map<string, TrieNode>, pattern: TrustPattern): void {
  let node = roots.get(pattern.origin) ?? newNode();
  roots.set(pattern.origin, node);
  for (const s of pattern.segments) {
    if (s.kind === 'rest') {
      node.rest = moreSpecific(node.rest, pattern);
      return;
    }
    if (s.kind === 'param') {
      node.param ??= newNode();
      node = node.param;
    } else {
      const child = node.literals.get(s.value) ?? newNode();
      node.literals.set(s.value, child);
      node = child;
    }
  }
  node.end = moreSpecific(node.end, pattern);
}

/** Entries sharing a node have the same shape, so this only applies the textual tie-break. */
function moreSpecific(current: TrustPattern | undefined, candidate: TrustPattern): TrustPattern {
  return current === undefined || compareSpecificity(candidate, current) < 0 ? candidate : current;
}

type Frame = { node: TrieNode; depth: number } | { found: TrustPattern };

/**
 * Depth-first search trying, at each node, the literal child, then the `{name}` child, then
 * the `{name:path}` terminal: the first match found is the most specific one (same order as
 * compareSpecificity). The trie is a tree, so no node is visited twice: the work is bounded
 * by the number of nodes reachable along the URL (at most two children per level), never
 * exponential. An explicit stack keeps very deep entries off the call stack.
 */
function search(root: TrieNode, segments: readonly string[]): TrustPattern | undefined {
  // A `{name:path}` at depth d needs every segment from d on to be placeholder-safe: find
  // the first depth from which that holds once, instead of rescanning per candidate.
  let safeFrom = segments.length;
  while (safeFrom > 0 && isPlaceholderSafe(segments[safeFrom - 1] ?? '')) safeFrom--;

  const stack: Frame[] = [{ node: root, depth: 0 }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    if ('found' in frame) return frame.found;
    const { node, depth } = frame;
    const segment = segments[depth];
    if (segment === undefined) {
      if (node.end !== undefined) return node.end;
      continue;
    }
    // Pushed in reverse order of preference, so the literal child is explored first.
    if (node.rest !== undefined && depth >= safeFrom) stack.push({ found: node.rest });
    if (node.param !== undefined && fitsParam(segment)) stack.push({ node: node.param, depth: depth + 1 });
    const literal = node.literals.get(segment);
    if (literal !== undefined) stack.push({ node: literal, depth: depth + 1 });
  }
  return undefined;
}

/**
 * The URL's canonical parts, or null when it cannot be trusted at all. Any failure counts as
 * "not trusted" (fail closed), not only ProvablyUrlError.
 */
function tryNormalize(url: string): SplitUrl | null {
  try {
    return normalizeUrlParts(url);
  } catch {
    return null;
  }
}

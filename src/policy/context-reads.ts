/**
 * Which top-level attributes of `context` a policy can read, from its JSON form (Cedar's EST,
 * `policyToJson`). Handing a context to Cedar costs a JS→wasm conversion per call that grows
 * with the context (an ISO datetime extension value for `now` alone is ~25 µs), so the engine
 * builds and passes only what the serving policies can read.
 *
 * Recognized, and nothing else: `context.<attr>` / `context["attr"]` (EST `"."`) and
 * `context has <attr>` / `context has a.b` (EST `"has"`, attr a string or a path whose first
 * element is the top-level attribute) with `context` itself as the left operand. ANY other
 * appearance of `context` — the record compared (`context == {}`), put in a set, passed to a
 * method, tested with `is`, an EST key this walker does not know — makes the answer `'all'`:
 * the full context is passed, so pruning can never change a decision. Misreading a record
 * literal that happens to look like `{"Var":"context"}` only errs towards `'all'`.
 */

/** The attributes read, or `'all'` when the whole context must be passed. */
export type ContextReads = ReadonlySet<string> | 'all';

/** Every top-level context attribute the policies (their EST JSON) can read. */
export function contextReadsOf(policies: Iterable<unknown>): ContextReads {
  const reads = new Set<string>();
  for (const policy of policies) {
    // Annotations are text, never expressions: only the scope and the conditions can read.
    const p = policy as Record<string, unknown>;
    const roots = [p.principal, p.action, p.resource, p.conditions];
    for (const root of roots) if (!collect(root, reads)) return 'all';
  }
  return reads;
}

/** Adds the attributes `node` reads to `reads`; false when it uses `context` in any other way. */
function collect(root: unknown, reads: Set<string>): boolean {
  // Iterative: a deeply nested condition must not overflow the stack.
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const x of node) stack.push(x);
      continue;
    }
    const o = node as Record<string, unknown>;
    if (isContext(o)) return false; // context used as a whole
    let handled = false;
    for (const op of ['.', 'has'] as const) {
      const access = o[op] as Record<string, unknown> | undefined;
      if (Object.keys(o).length !== 1 || access === null || typeof access !== 'object') continue;
      if (!isContext(access.left)) continue;
      const attr = Array.isArray(access.attr) ? access.attr[0] : access.attr;
      if (typeof attr !== 'string') return false;
      reads.add(attr);
      handled = true;
    }
    if (handled) continue;
    for (const v of Object.values(o)) stack.push(v);
  }
  return true;
}

function isContext(v: unknown): boolean {
  return (
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    Object.keys(v).length === 1 &&
    (v as { Var?: unknown }).Var === 'context'
  );
}

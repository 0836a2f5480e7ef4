/**
 * Naming a guarded function's call-site arguments for the policy's `context.params`: from the
 * function's own parameter list where it is plain identifiers (`(amount, currency) => …`,
 * `function pay(amount, currency = 'GBP')`), else positionally (`arg0`, `arg1`, …). Reading
 * source text is the only way JavaScript offers; anything it cannot read with certainty
 * (destructuring, rest, a native or bound function, minified oddities) falls back to positions
 * rather than guessing a name that could mislead a policy.
 */

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** The plain parameter names of fn, or undefined when they cannot be read with certainty. */
export function parameterNames(fn: (...args: never[]) => unknown): string[] | undefined {
  let src: string;
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    return undefined;
  }
  src = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
  let list: string | undefined;
  const arrowSingle = /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (arrowSingle) list = arrowSingle[1];
  else {
    const open = src.indexOf('(');
    if (open < 0) return undefined;
    let depth = 0;
    let close = -1;
    for (let i = open; i < src.length; i++) {
      const ch = src[i];
      if (ch === '(' || ch === '[' || ch === '{') depth++;
      else if (ch === ')' || ch === ']' || ch === '}') {
        depth--;
        if (depth === 0) {
          close = i;
          break;
        }
      } else if (ch === '"' || ch === "'" || ch === '`') return undefined; // default values with strings: positions
    }
    if (close < 0) return undefined;
    list = src.slice(open + 1, close);
  }
  if (list === undefined) return undefined;
  if (list.trim() === '') return [];
  const names: string[] = [];
  for (const part of splitTopLevel(list)) {
    const name = part.split('=')[0]?.trim() ?? '';
    if (!IDENT.test(name)) return undefined;
    names.push(name);
  }
  return new Set(names).size === names.length ? names : undefined;
}

function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const ch = list[i];
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(list.slice(start, i));
      start = i + 1;
    }
  }
  const last = list.slice(start);
  if (last.trim() !== '') parts.push(last);
  return parts;
}

/** `{ name: value }` for named params, `{ arg0: value, … }` otherwise (extra args positional). */
export function namedArguments(
  names: readonly string[] | undefined,
  args: readonly unknown[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  args.forEach((v, i) => {
    const name = names?.[i];
    out[name ?? `arg${i}`] = v;
  });
  return out;
}

/**
 * Loads an OpenTelemetry package on first need, synchronously.
 *
 * The first interceptContext may wrap a synchronous function, so the context manager and the
 * tracer provider must exist before it returns: an `await import()` is not an option there.
 * Node ≥ 22.12 can `require()` an ES module synchronously; resolving the specifier with the ESM
 * conditions first (`import.meta.resolve`) makes the require load the very module instance a
 * later `import` of the same package gets (one copy of each package in the process). Where
 * `import.meta.resolve` is unavailable (the CJS build) the package's CommonJS entry is used.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const requireHere = createRequire(import.meta.url);

export function loadSync<T>(specifier: string): T {
  let target = specifier;
  const resolveEsm = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof resolveEsm === 'function') {
    try {
      const url = resolveEsm(specifier);
      if (url.startsWith('file:')) target = fileURLToPath(url);
    } catch {
      // Not resolvable with the ESM conditions: let require report (or find the CJS entry).
    }
  }
  return requireHere(target) as T;
}

// Helpers the attempts use inside the agent process (plain ESM: the child runs it as is).
// Nothing here loads provably; the runner does, the way an app would.
import { Buffer } from 'node:buffer';

// Generous: an embedded store's first open takes seconds on a loaded 2-core machine.
export const ATTEMPT_TIMEOUT_MS = 8_000;

/** Rejects after `ms` (an attempt that hangs is a failure, never a pass). */
export function withTimeout(promise, ms = ATTEMPT_TIMEOUT_MS, what = 'attempt') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`${what} timed out`), { code: 'ADV_TIMEOUT' })),
      ms,
    );
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

/** Reads a node:http response to { status, body }. */
export function readIncoming(res) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    res.on('error', reject);
  });
}

/**
 * `mod.request(...args)` as a promise of { status, body }; the request is destroyed on timeout so
 * nothing lingers. `body` is written before end when given via { body } as the last argument.
 */
export function call(mod, ...args) {
  let body;
  const last = args[args.length - 1];
  if (last && typeof last === 'object' && 'advBody' in last) {
    body = last.advBody;
    args = args.slice(0, -1);
  }
  return new Promise((resolve, reject) => {
    let req;
    try {
      req = mod.request(...args, (res) => readIncoming(res).then(resolve, reject));
    } catch (err) {
      reject(err);
      return;
    }
    req.on('error', reject);
    req.setTimeout?.(ATTEMPT_TIMEOUT_MS, () => req.destroy(new Error('request timed out')));
    req.end(body);
  });
}

/** fetch-like response → { status, body }. */
export async function text(responsePromise) {
  const res = await responsePromise;
  return { status: res.status, body: await res.text() };
}

/** undici.request result → { status, body }. */
export async function undiciText(resultPromise) {
  const res = await resultPromise;
  return { status: res.statusCode, body: await res.body.text() };
}

/** axios / got response → { status, body }. */
export async function axiosText(p) {
  const res = await p;
  return { status: res.status ?? res.statusCode, body: String(res.data ?? res.body) };
}

/** An error carrying a plain error shape (reported by a worker or child process) as its cause. */
export function revive(shape) {
  if (!shape || typeof shape !== 'object') return new Error(String(shape));
  const err = new Error(shape.message ?? 'error from another thread/process');
  err.name = shape.name ?? 'Error';
  if (shape.code !== undefined && shape.code !== null) err.code = shape.code;
  if (shape.cause) err.cause = revive(shape.cause);
  return err;
}

/** A plain, JSON-able description of an error and its causes (same shape as e2e lib.cjs). */
export function shapeOf(err, depth = 0) {
  if (err === null || (typeof err !== 'object' && typeof err !== 'function')) return { value: String(err) };
  const out = {
    name: typeof err.name === 'string' ? err.name : null,
    ctor: err.constructor?.name ?? null,
    message: typeof err.message === 'string' ? err.message.slice(0, 300) : null,
    code: typeof err.code === 'string' || typeof err.code === 'number' ? err.code : null,
  };
  if (err.cause !== undefined && err.cause !== null && depth < 6) out.cause = shapeOf(err.cause, depth + 1);
  // AggregateError (e.g. happy eyeballs): the first inner error.
  if (!out.cause && Array.isArray(err.errors) && err.errors.length > 0 && depth < 6)
    out.cause = shapeOf(err.errors[0], depth + 1);
  return out;
}

/** Waits for one message from a worker / child; rejects on its error or exit without one. */
export function firstMessage(emitter, what) {
  return new Promise((resolve, reject) => {
    emitter.once('message', resolve);
    emitter.once('error', reject);
    emitter.once('exit', (code) => reject(new Error(`${what} exited (${code}) without reporting`)));
  });
}

/**
 * How the recorder tells store failures apart and describes them: whether the store itself
 * failed (drop it and ask the factory again), whether the database refused one row's data
 * (retry the batch's rows alone), and the messages callers see.
 */
import { ProvablyStoreError, type StoreErrorReason } from '../errors/index.js';
import { cleanText } from './headers.js';

/**
 * A batch statement could not be built because of one row's content (e.g. the ledger found no
 * canonical leaf form for it): row-level, like a data exception from the database.
 */
export class RowContentError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'RowContentError';
  }
}

/** A short, single-line description of why a call failed: name [code]: message, and its causes. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (typeof current === 'object') {
      const o = current as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown };
      const name = typeof o.name === 'string' && o.name !== '' ? o.name : 'Error';
      const code = typeof o.code === 'string' || typeof o.code === 'number' ? ` [${o.code}]` : '';
      const message = typeof o.message === 'string' && o.message !== '' ? `: ${o.message}` : '';
      parts.push(`${name}${code}${message}`);
      current = o.cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  let text = parts.length === 0 ? 'unknown error' : parts.join(' (cause: ') + ')'.repeat(parts.length - 1);
  text = cleanText(text.replace(/\s+/g, ' ').trim());
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}

export function describeCause(err: unknown): string {
  if (err instanceof Error) return err.message;
  return describeError(err);
}

export function reasonOf(err: unknown, fallback: StoreErrorReason): StoreErrorReason {
  return err instanceof ProvablyStoreError ? err.reason : fallback;
}

/** The store itself (not the row) failed: drop it so the next batch asks the factory again. */
export function isConnectionLevel(err: unknown): boolean {
  if (!(err instanceof ProvablyStoreError)) return true;
  return err.reason !== 'query' && err.reason !== 'append-only' && err.reason !== 'missing-migration';
}

/** PostgreSQL refused the data of some row (SQLSTATE class 22 data exception or 23 integrity). */
/**
 * The database refused the data of some row: SQLSTATE class 22 (data exception), 23 (integrity)
 * or PVL01 (the ledger found a stored row that is not its leaf's row), or a row could not be
 * turned into a statement (RowContentError).
 */
export function isRowLevel(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    if (current instanceof RowContentError) return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (/^2[23][0-9A-Z]{3}$/.test(code) || code === 'PVL01')) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

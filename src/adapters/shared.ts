/**
 * One AsyncLocalStorage per key for the whole process: an ESM import and a CommonJS require of
 * provably are two copies of this module, and both must see the same storage.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export function sharedStorage<T>(key: symbol): AsyncLocalStorage<T> {
  const slot = globalThis as Record<symbol, unknown>;
  const existing = slot[key];
  if (existing instanceof AsyncLocalStorage) return existing as AsyncLocalStorage<T>;
  const created = new AsyncLocalStorage<T>();
  Object.defineProperty(globalThis, key, { value: created, configurable: true });
  return created;
}

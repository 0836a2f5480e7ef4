/**
 * Finding and patching undici copies (see undici.ts): each copy's `DispatcherBase.prototype.dispatch`
 * is replaced once by the patched dispatch of undici-dispatch.ts, and put back on uninstall.
 */
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { internalError } from './core.js';
import { type CopyDispatch, type DispatchFn, makeDispatch } from './undici-dispatch.js';

type Rec = Record<PropertyKey, unknown>;

interface Copy extends CopyDispatch {
  readonly proto: { dispatch: DispatchFn };
  readonly descriptor: PropertyDescriptor;
  readonly patched: DispatchFn;
  /** The package root when loaded from disk (…/node_modules/undici); undefined when bundled. */
  readonly root: string | undefined;
}

const GLOBAL_SLOTS = [Symbol.for('undici.globalDispatcher.1'), Symbol.for('undici.globalDispatcher.2')];
const BASE_SUFFIX = `${sep}lib${sep}dispatcher${sep}dispatcher-base.js`;

const requireHere = createRequire(import.meta.url);
const copies = new Map<object, Copy>();

/** Puts back every dispatch we replaced and forgets the copies. */
export function restoreCopies(): void {
  for (const copy of copies.values()) {
    // Only restore what is still ours; if someone wrapped over us, our wrapper stays and (with
    // the scope resolver reset by uninstall) is a pure passthrough.
    if (copy.proto.dispatch === copy.patched) Object.defineProperty(copy.proto, 'dispatch', copy.descriptor);
  }
  copies.clear();
}

/** Patches every undici copy reachable now: the global dispatcher slots and require.cache. */
export function discover(): void {
  for (const slot of GLOBAL_SLOTS) {
    try {
      const value = (globalThis as Rec)[slot];
      if (value !== null && typeof value === 'object') adoptFromInstance(value);
    } catch (err) {
      internalError('inspecting the global dispatcher failed', err);
    }
  }
  try {
    const cache = requireHere.cache;
    for (const key of Object.keys(cache)) {
      if (!key.endsWith(BASE_SUFFIX)) continue;
      const mod = cache[key];
      if (mod !== undefined) adoptClass(mod.exports, key.slice(0, -BASE_SUFFIX.length));
    }
  } catch (err) {
    internalError('scanning require.cache for undici failed', err);
  }
}

function adoptFromInstance(instance: object): void {
  let proto: object | null = Object.getPrototypeOf(instance);
  for (let depth = 0; proto !== null && depth < 16; depth++) {
    const ctor = (proto as { constructor?: unknown }).constructor;
    if (Object.hasOwn(proto, 'dispatch') && typeof ctor === 'function' && ctor.name === 'DispatcherBase') {
      adoptClass(ctor, undefined);
      return;
    }
    proto = Object.getPrototypeOf(proto);
  }
}

export function onModuleRequired(message: unknown): void {
  try {
    const { result, parentFilename, id } = message as {
      result?: unknown;
      parentFilename?: unknown;
      id?: unknown;
    };
    if (typeof result !== 'function' || result.name !== 'DispatcherBase') return;
    let root: string | undefined;
    if (typeof parentFilename === 'string' && typeof id === 'string' && id.startsWith('.')) {
      const file = join(dirname(parentFilename), id.endsWith('.js') ? id : `${id}.js`);
      if (file.endsWith(BASE_SUFFIX)) root = file.slice(0, -BASE_SUFFIX.length);
    }
    adoptClass(result, root);
  } catch (err) {
    internalError('patching a newly loaded undici failed', err);
  }
}

function adoptClass(cls: unknown, root: string | undefined): void {
  if (typeof cls !== 'function' || cls.name !== 'DispatcherBase') return;
  const proto = cls.prototype as { dispatch: DispatchFn } | undefined;
  if (!proto || copies.has(proto)) return;
  const descriptor = Object.getOwnPropertyDescriptor(proto, 'dispatch');
  if (!descriptor || typeof descriptor.value !== 'function' || !descriptor.configurable) return;
  const copy: Copy = {
    proto,
    original: descriptor.value as DispatchFn,
    descriptor,
    patched: undefined as unknown as DispatchFn,
    root,
    kUrl: undefined,
  };
  (copy as { patched: DispatchFn }).patched = makeDispatch(copy);
  if (root !== undefined) learnFromDisk(copy);
  Object.defineProperty(proto, 'dispatch', { ...descriptor, value: copy.patched });
  copies.set(proto, copy);
}

/** For a copy loaded from disk, its symbols module sits next to it in require.cache. */
function learnFromDisk(copy: Copy): void {
  if (copy.root === undefined || copy.kUrl !== undefined) return;
  const symbols = requireHere.cache[join(copy.root, 'lib', 'core', 'symbols.js')]?.exports as Rec | undefined;
  if (typeof symbols?.kUrl === 'symbol') copy.kUrl = symbols.kUrl;
}

/** Patches copies that appeared since install and learns what disk-loaded copies can tell. */
export function rediscover(): void {
  discover();
  for (const copy of copies.values()) learnFromDisk(copy);
}

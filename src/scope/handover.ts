/**
 * Lets an application register its own OpenTelemetry SDK after provably registered its
 * standalone setup (at preload in GenAI mode, or at the first interceptContext), instead of the
 * registration failing as a duplicate — which the API reports only to its diag logger, off by
 * default, so the app's exporters would silently receive nothing.
 *
 * How (no API offers it, hence hand-written): every copy of `@opentelemetry/api` 1.x registers
 * with `registerGlobal(type, …)`, which first assigns the registry to
 * `globalThis[Symbol.for('opentelemetry.js.api.1')]` (the same object back), then reads
 * `registry[type]` (taken ⇒ "duplicate registration"), then checks `registry.version`, then
 * writes `registry[type]`. Readers (`getGlobal`) never assign the global. So: the global becomes
 * an accessor whose setter marks "a registration is starting", and the registry a Proxy whose
 * next read of `trace`/`context` answers "free"; the write that follows hands the slot to the
 * application. Any other read in between clears the mark, so readers always see the registry as
 * it is. A registration refused for its version (a different API copy) is reported, not hidden.
 */
import { diag } from '../diag/index.js';

const REGISTRY_KEY = Symbol.for('opentelemetry.js.api.1');

export type HandedOverSlot = 'trace' | 'context';

export interface HandoverWatch {
  /** The application registered its own `slot` (`value` is what the API stored there). */
  onHandover(slot: HandedOverSlot, value: unknown): void;
  /** A registration of `slot` was refused (its API copy's version differs from the registry's). */
  onRefused(slot: HandedOverSlot, registryVersion: string): void;
}

/**
 * Watches the OpenTelemetry registry provably just filled. Returns false (nothing watched) when
 * the global is not a plain, replaceable property.
 */
export function watchForHandover(watch: HandoverWatch): boolean {
  const desc = Object.getOwnPropertyDescriptor(globalThis, REGISTRY_KEY);
  if (desc === undefined || !('value' in desc) || desc.configurable !== true) return false;
  const registry = desc.value as Record<PropertyKey, unknown> | null;
  if (registry === null || typeof registry !== 'object') return false;

  // 'armed': the global was just assigned (a registration starts). 'asked': its read of the slot
  // answered "free". 'versioned': it then read the version; a write must come next, or it was refused.
  let stage: 'idle' | 'armed' | 'asked' | 'versioned' = 'idle';
  let slot: HandedOverSlot | undefined;
  // A slot the application took is its own: later registrations are duplicates, as usual.
  const handed = new Set<PropertyKey>();

  const settleRefusal = (): void => {
    if (stage === 'versioned' && slot !== undefined) {
      const refused = slot;
      stage = 'idle';
      slot = undefined;
      safely(() => watch.onRefused(refused, String(registry.version)));
    }
  };

  const proxy = new Proxy(registry, {
    get(target, prop) {
      if (stage === 'armed') {
        stage = 'idle';
        if ((prop === 'trace' || prop === 'context') && !handed.has(prop)) {
          stage = 'asked';
          slot = prop;
          return undefined;
        }
      } else if (stage === 'asked') {
        stage = prop === 'version' ? 'versioned' : 'idle';
      } else if (stage === 'versioned') {
        settleRefusal();
      }
      return Reflect.get(target, prop);
    },
    set(target, prop, value) {
      if ((prop === 'trace' || prop === 'context') && !handed.has(prop)) {
        stage = 'idle';
        slot = undefined;
        handed.add(prop);
        const ok = Reflect.set(target, prop, value);
        safely(() => watch.onHandover(prop, value));
        return ok;
      }
      return Reflect.set(target, prop, value);
    },
  });

  Object.defineProperty(globalThis, REGISTRY_KEY, {
    configurable: true,
    enumerable: desc.enumerable ?? true,
    get: () => {
      if (stage === 'versioned') settleRefusal();
      return proxy;
    },
    set: (value: unknown) => {
      if (value === proxy) {
        settleRefusal();
        stage = 'armed';
        return;
      }
      // Someone replaced the whole registry: it is theirs now; stop watching.
      Object.defineProperty(globalThis, REGISTRY_KEY, {
        configurable: true,
        enumerable: desc.enumerable ?? true,
        writable: true,
        value,
      });
    },
  });
  return true;
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    // Runs inside the application's OpenTelemetry registration: never throw into it.
    diag.once('scope.handover', 'warn', 'could not follow an OpenTelemetry registration', err);
  }
}

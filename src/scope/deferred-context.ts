/**
 * The ContextManager provably registers: an AsyncLocalStorage context manager
 * (`@opentelemetry/context-async-hooks`), built at the first call that can make a context
 * active (`with`, `bind`, `enable`) or give one a value.
 *
 * Why deferred: in GenAI mode it is registered at preload, before the app's first module, and
 * loading the API plus the context manager there would cost every start (P4) even in processes
 * that never start a span. Until something is made active, the active context can only be the
 * empty root, so `active()` answers with a root that builds the real manager (and the API's root
 * context) only once a value is set on it.
 */
import type * as OtelApi from '@opentelemetry/api';
import type { Context, ContextManager } from '@opentelemetry/api';
import type * as AsyncHooksModule from '@opentelemetry/context-async-hooks';
import { diag } from '../diag/index.js';
import { loadSync } from './load.js';
import { warnSpanVisibility } from './visibility.js';

export class DeferredContextManager implements ContextManager {
  private real: ContextManager | undefined;
  private apiRoot: Context | undefined;
  private readonly emptyRoot: Context;

  constructor() {
    const root = (): Context => this.root();
    this.emptyRoot = {
      getValue: () => undefined,
      setValue: (key, value) => root().setValue(key, value),
      deleteValue: () => this.emptyRoot,
    };
  }

  /** True once the real manager exists (before that, no context can be active). */
  get materialized(): boolean {
    return this.real !== undefined;
  }

  active(): Context {
    return this.real === undefined ? this.emptyRoot : this.real.active();
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.manager().with(context, fn, thisArg, ...args);
  }

  bind<T>(context: Context, target: T): T {
    return this.manager().bind(context, target);
  }

  enable(): this {
    this.manager();
    return this;
  }

  disable(): this {
    this.real?.disable();
    return this;
  }

  private root(): Context {
    this.manager();
    return this.apiRoot ?? this.emptyRoot;
  }

  private manager(): ContextManager {
    if (this.real !== undefined) return this.real;
    try {
      this.apiRoot = loadSync<typeof OtelApi>('@opentelemetry/api').ROOT_CONTEXT;
      const { AsyncLocalStorageContextManager } = loadSync<typeof AsyncHooksModule>(
        '@opentelemetry/context-async-hooks',
      );
      this.real = new AsyncLocalStorageContextManager().enable();
    } catch (err) {
      // Never throw into the app's OpenTelemetry calls: run functions without a context.
      diag.debug('context manager load failure', err);
      warnSpanVisibility(
        'no-context-manager',
        'cannot load @opentelemetry/context-async-hooks: no span can be active, so span scopes are NOT seen',
      );
      this.real = passThrough(this.apiRoot ?? this.emptyRoot);
    }
    return this.real;
  }
}

function passThrough(root: Context): ContextManager {
  const cm: ContextManager = {
    active: () => root,
    with: (_ctx, fn, thisArg, ...args) => fn.call(thisArg, ...args),
    bind: (_ctx, target) => target,
    enable: () => cm,
    disable: () => cm,
  };
  return cm;
}

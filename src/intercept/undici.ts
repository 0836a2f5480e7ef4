/**
 * undici adapter: global fetch (Node's bundled undici: 6.x on Node 22, 7.x on Node 24) and every
 * copy of the `undici` package (7.x, 8.x): request/fetch/stream, explicit Client/Pool/Agent,
 * interceptors (redirect, retry), proxies.
 *
 * How: every undici copy routes every request through `DispatcherBase.prototype.dispatch` of that
 * copy (Agent → Pool → Client, each a DispatcherBase). We replace that one method per copy, so
 * the global dispatcher (whoever set it: Node, undici 8 on load, the app's setGlobalDispatcher)
 * and explicit dispatchers are all governed the same way, and replacing the global dispatcher
 * cannot unhook us. A request is governed at the first layer that knows the real origin (a Pool
 * or Client: the origin it will connect to); the Agent above only routes. Refusing there means
 * calling the handler's error callback before anything is queued: 0 connections, 0 bytes.
 *
 * Copies are found (1) at install, through the global dispatcher slots (Node's bundled copy) and
 * require.cache (copies already loaded), and (2) when a copy is loaded later, through the
 * `module.require` tracing channel. Anything that still slips past (a copy inlined by a bundler,
 * a dispatcher bound before install) is caught by the fallback on `undici:request:create`:
 * there the request already sits in a Client's queue, so refusing it sends no HTTP bytes, but
 * undici < 8 still opens the TCP/TLS connection (undici 8 does not), and a gate answer that is
 * still loading cannot be waited for (the call is refused instead).
 *
 * Files: undici-copies.ts finds and patches the copies, undici-dispatch.ts is the patched dispatch
 * (govern, refuse, route), undici-fallback.ts the request:create fallback, undici-handler.ts the
 * handler decoration that captures the response.
 */
import dc from 'node:diagnostics_channel';
import { internalError } from './core.js';
import { unsubscribeSendHeaders } from './undici-binding.js';
import { discover, onModuleRequired, restoreCopies } from './undici-copies.js';
import { onRequestCreate } from './undici-fallback.js';

let installed = false;

export function installUndici(): () => void {
  installed = true;
  try {
    // Load Node's bundled undici now (every HTTP-using agent pays this anyway) so its global
    // Agent exists and its class can be patched before the first fetch.
    void globalThis.Headers;
  } catch (err) {
    internalError('loading the bundled undici failed', err);
  }
  discover();
  dc.subscribe('tracing:module.require:end', onModuleRequired);
  dc.subscribe('undici:request:create', onRequestCreate);
  return uninstallUndici;
}

function uninstallUndici(): void {
  if (!installed) return;
  installed = false;
  dc.unsubscribe('tracing:module.require:end', onModuleRequired);
  dc.unsubscribe('undici:request:create', onRequestCreate);
  unsubscribeSendHeaders();
  restoreCopies();
}

/**
 * The request:create fallback (see undici.ts): governs requests of undici copies we could not
 * patch. The request already sits in a Client's queue, so a refusal sends no HTTP bytes (undici
 * < 8 may still have opened the connection) and a gate answer still loading cannot be waited for.
 */
import type { ActiveScope } from '../scope/types.js';
import { startCapture } from './capture.js';
import {
  blockedError,
  counters,
  decide,
  internalError,
  isPromiseLike,
  resolveScope,
  type Verdict,
} from './core.js';
import { rawHeadersToMap } from './headers.js';
import { bindRequest } from './undici-binding.js';
import { rediscover } from './undici-copies.js';
import { creatingBinding, insidePatchedDispatch } from './undici-dispatch.js';
import { wrapHandler } from './undici-handler.js';

type Rec = Record<PropertyKey, unknown>;

/** Request classes seen by the fallback (discovery runs once per class). */
const inspectedRequestClasses = new WeakSet<object>();
const handlerSymbols = new WeakMap<object, symbol | null>();

export function onRequestCreate(message: unknown): void {
  try {
    const request = (message as { request?: unknown } | null)?.request;
    if (request === null || typeof request !== 'object') return;
    if (insidePatchedDispatch()) {
      // Decided by our dispatch; a governed call's Request is bound for the sendHeaders check.
      const binding = creatingBinding();
      if (binding !== undefined) bindRequest(request, binding);
      return;
    }
    const ctor = (request as { constructor?: unknown }).constructor as object;
    const scope = resolveScope();
    if (scope === undefined) return;
    governCreated(request as Rec, ctor, scope);
  } catch (err) {
    internalError('the undici request:create fallback failed', err);
  }
}

function governCreated(request: Rec, ctor: object, scope: ActiveScope): void {
  counters.fallback++;
  if (!inspectedRequestClasses.has(ctor)) {
    // A copy we have not patched: patch it now so its next requests are governed before they
    // are queued; this one is handled here.
    inspectedRequestClasses.add(ctor);
    rediscover();
  }
  const url = `${String(request.origin)}${String(request.path)}`;
  const verdict = decide(url, scope, true);
  if (isPromiseLike<Verdict>(verdict)) {
    abortCreated(
      request,
      blockedError(url, scope, 'the trusted set is still loading and this transport cannot wait for it'),
    );
    return;
  }
  if (!verdict.ok) {
    abortCreated(request, verdict.error);
    return;
  }
  let kHandler = handlerSymbols.get(ctor);
  if (kHandler === undefined) {
    kHandler = Object.getOwnPropertySymbols(request).find((s) => s.description === 'handler') ?? null;
    handlerSymbols.set(ctor, kHandler);
  }
  const handler = kHandler === null ? undefined : request[kHandler];
  if (kHandler === null || handler === null || typeof handler !== 'object') {
    internalError('an undici request governed by the fallback could not be captured', url);
    return;
  }
  const method = typeof request.method === 'string' ? request.method : 'GET';
  const capture = startCapture(
    scope,
    verdict.orgId,
    method,
    url,
    rawHeadersToMap(request.headers),
    new Date(),
  );
  request[kHandler] = wrapHandler(handler as Rec, capture);
  bindRequest(request, {
    url,
    scope,
    capture,
    absoluteForm: /^[a-z][a-z0-9+.-]*:\/\//i.test(String(request.path)),
  });
}

/** Errors a request that is already queued in a Client: it is skipped, no HTTP bytes are written. */
function abortCreated(request: Rec, error: Error): void {
  if (typeof request.onResponseError === 'function') (request.onResponseError as (e: Error) => void)(error);
  else if (typeof request.onError === 'function') (request.onError as (e: Error) => void)(error);
  else internalError('an undici request could not be refused', error.message);
}

/**
 * Binding governed undici requests to the socket that carries them (see peer.ts). undici
 * publishes `undici:client:sendHeaders` with `{ request, socket }` right before it writes the
 * request (every copy: Node's bundled 6.x/7.x and the packages 7.x/8.x): there the socket is
 * connected (TLS handshake done), so the peer is known. A request whose socket does not go to
 * its URL's origin is aborted through undici's own abort (the handler's onConnect abort /
 * controller.abort) before the write: 0 request bytes, nothing recorded.
 */
import dc from 'node:diagnostics_channel';
import { blockedError, counters, internalError } from './core.js';
import { bindingProblem, effectiveDestination, peerOf } from './peer.js';
import type { UndiciBinding } from './undici-dispatch.js';

const requestBindings = new WeakMap<object, UndiciBinding>();

const SEND_HEADERS = 'undici:client:sendHeaders';
/**
 * Subscribed on the first governed request only: while nobody subscribes, undici does not even
 * build the message, so a process that never enters a scope pays nothing for the binding.
 */
let subscribed = false;

/** Remembers which governed call an undici Request belongs to. */
export function bindRequest(request: object, binding: UndiciBinding): void {
  if (!subscribed) {
    subscribed = true;
    dc.subscribe(SEND_HEADERS, onSendHeaders);
  }
  requestBindings.set(request, binding);
}

export function unsubscribeSendHeaders(): void {
  if (!subscribed) return;
  subscribed = false;
  dc.unsubscribe(SEND_HEADERS, onSendHeaders);
}

function onSendHeaders(message: unknown): void {
  try {
    const { request, socket } = (message ?? {}) as { request?: unknown; socket?: unknown };
    if (request === null || typeof request !== 'object') return;
    const binding = requestBindings.get(request);
    if (binding === undefined) return; // not a governed call (unscoped): nothing to do
    const answer = bindingProblem(binding.url, socket, binding.absoluteForm);
    // undici writes only on a connected socket (TLS done): nothing is left to wait for.
    const problem = typeof answer === 'object' ? 'its connection was not established' : answer;
    if (problem === undefined) {
      binding.capture.peer(() => peerOf(socket, effectiveDestination(socket)));
      return;
    }
    counters.peerMismatches++;
    const error = blockedError(binding.url, binding.scope, problem);
    if (!binding.capture.refuse(error)) (socket as { destroy?: (e: Error) => void } | null)?.destroy?.(error);
  } catch (err) {
    // Fail closed: a governed request whose connection could not be checked is not written.
    internalError('checking the connection of an undici request failed; it was refused', err);
    try {
      (message as { socket?: { destroy?: (e: Error) => void } } | null)?.socket?.destroy?.(
        err instanceof Error ? err : new Error(String(err)),
      );
    } catch {
      // nothing more can be done
    }
  }
}

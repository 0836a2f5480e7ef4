/**
 * The remote gateway's HTTP client: JSON requests over node:http(s) with this gateway's OWN
 * keep-alive agent (so `close()` can release exactly its sockets, and nothing of the app's
 * global fetch dispatcher is touched), a whole-request deadline, and a bounded response size.
 *
 * Every request runs under `selfEgress`: the gateway's traffic is provably's own, never a
 * governed call — a guarded body or any scope calling execute must still reach the gateway
 * even though it is not a trusted endpoint, and its requests are not recorded as intercepts.
 *
 * node:http rather than fetch: Node exposes no public constructor for its bundled undici's
 * Agent, and the `undici` package is not a runtime dependency; http.Agent is the standard
 * library's keep-alive pool and `destroy()` ends its sockets.
 */
import http from 'node:http';
import https from 'node:https';
import { ProvablyError } from '../errors/index.js';
import { selfEgress } from '../scope/index.js';

/** The gateway could not be reached or did not answer in time: the only "unreachable" case. */
export class GatewayUnreachable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayUnreachable';
  }
}

/** The gateway answered, but not with a success (or not with JSON). */
export class GatewayAnswerError extends Error {
  readonly status: number;
  /** The REST error code (`{ error: { code } }`), when the body had one. */
  readonly errorCode: string | undefined;
  /** The parsed body, when it was JSON. */
  readonly body: unknown;
  constructor(status: number, errorCode: string | undefined, message: string, body: unknown) {
    super(message);
    this.name = 'GatewayAnswerError';
    this.status = status;
    this.errorCode = errorCode;
    this.body = body;
  }
}

export interface GatewayAnswer<T> {
  status: number;
  json: T;
  /** The gateway's clock (its Date header, ms since the epoch), when it sent one. */
  serverDate: number | undefined;
  /** This process's clock when the answer arrived. */
  receivedAt: number;
}

/** Answers larger than this are refused: nothing the client reads is anywhere near it. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export class GatewayHttp {
  readonly base: URL;
  readonly #apiKey: string;
  readonly #agent: http.Agent;
  readonly #client: typeof http | typeof https;

  constructor(base: URL, apiKey: string) {
    this.base = base;
    this.#apiKey = apiKey;
    const https_ = base.protocol === 'https:';
    this.#client = https_ ? https : http;
    // Node un-refs idle keep-alive sockets, so an open pool never keeps the process alive.
    this.#agent = https_
      ? new https.Agent({ keepAlive: true, maxSockets: 64 })
      : new http.Agent({ keepAlive: true, maxSockets: 64 });
  }

  /**
   * One JSON request. Resolves with a 2xx answer; rejects with GatewayUnreachable (no
   * connection, reset, deadline passed) or GatewayAnswerError (any other status, or a body
   * that is not JSON). A request on a reused keep-alive socket that the server had just closed
   * is retried once on a fresh socket (the race Node documents for `reusedSocket`).
   */
  async request<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    timeoutMs: number,
  ): Promise<GatewayAnswer<T>> {
    try {
      return await this.#once<T>(method, path, body, timeoutMs);
    } catch (err) {
      if (err instanceof StaleSocket) return this.#once<T>(method, path, body, timeoutMs);
      throw err;
    }
  }

  /** Ends every socket of this client (in-flight requests fail as unreachable). */
  close(): void {
    this.#agent.destroy();
  }

  #once<T>(method: string, path: string, body: unknown, timeoutMs: number): Promise<GatewayAnswer<T>> {
    const url = new URL(path, this.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string> = {
      accept: 'application/json',
      'x-provably-api-key': this.#apiKey,
    };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    return selfEgress(
      () =>
        new Promise<GatewayAnswer<T>>((resolve, reject) => {
          let settled = false;
          const fail = (err: Error) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            req.destroy();
            reject(err);
          };
          const req = this.#client.request(url, { method, headers, agent: this.#agent });
          const timer = setTimeout(
            () => fail(new GatewayUnreachable(`no answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
          req.on('error', (err: NodeJS.ErrnoException) => {
            // provably's own refusal (should selfEgress ever not apply) is no outage: it must
            // never become a fail-open ALLOW.
            if (err instanceof ProvablyError) fail(err);
            else if (req.reusedSocket && err.code === 'ECONNRESET') fail(new StaleSocket());
            else fail(new GatewayUnreachable(err.message || String(err.code), { cause: err }));
          });
          req.on('response', (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size > MAX_ANSWER_BYTES) {
                fail(new GatewayAnswerError(res.statusCode ?? 0, undefined, 'answer too large', undefined));
                return;
              }
              chunks.push(chunk);
            });
            res.on('error', (err) => fail(new GatewayUnreachable(err.message, { cause: err })));
            res.on('close', () => {
              if (!res.complete) fail(new GatewayUnreachable('the answer was cut off'));
            });
            res.on('end', () => {
              if (settled) return;
              settled = true;
              clearTimeout(timer);
              const status = res.statusCode ?? 0;
              const text = Buffer.concat(chunks).toString('utf8');
              let json: unknown;
              let parsed = true;
              try {
                json = text === '' ? null : JSON.parse(text);
              } catch {
                parsed = false;
              }
              const date = Date.parse(String(res.headers.date ?? ''));
              if (status >= 200 && status < 300 && parsed) {
                resolve({
                  status,
                  json: json as T,
                  serverDate: Number.isFinite(date) ? date : undefined,
                  receivedAt: Date.now(),
                });
                return;
              }
              reject(answerError(status, parsed ? json : undefined, text));
            });
          });
          req.end(payload);
        }),
    );
  }
}

/** ECONNRESET on a reused keep-alive socket: the request never reached a live connection. */
class StaleSocket extends Error {}

function answerError(status: number, json: unknown, text: string): GatewayAnswerError {
  const e = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message =
    typeof e?.message === 'string'
      ? e.message
      : status >= 200 && status < 300
        ? 'the answer is not JSON'
        : text.slice(0, 200) || `HTTP ${status}`;
  return new GatewayAnswerError(status, code, `HTTP ${status}${code ? ` ${code}` : ''}: ${message}`, json);
}

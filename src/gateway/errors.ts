/**
 * The gateway's answer to a request it refuses: an HTTP status, a stable snake_case code and a
 * message naming what was wrong (REST contract v1: `{ "error": { "code", "message", … } }`).
 * Thrown by the route handlers and the library functions they call; app.ts maps it.
 */
import { ProvablyError } from '../errors/index.js';

export type ApiErrorCode =
  | 'bad_request'
  | 'invalid_params'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'policy_invalid'
  | 'unavailable'
  | 'internal';

export type ApiErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 500 | 503;

export class GatewayRequestError extends ProvablyError {
  readonly code = 'PROVABLY_GATEWAY_REQUEST';
  readonly status: ApiErrorStatus;
  readonly apiCode: ApiErrorCode;
  /** Extra members of the error object (`problems`) or of the body (`escalation` on 409). */
  readonly details: { error?: Record<string, unknown>; body?: Record<string, unknown> };
  constructor(
    status: ApiErrorStatus,
    apiCode: ApiErrorCode,
    message: string,
    details: GatewayRequestError['details'] = {},
  ) {
    super(message);
    this.status = status;
    this.apiCode = apiCode;
    this.details = details;
  }
}

export const badRequest = (message: string) => new GatewayRequestError(400, 'bad_request', message);
export const notFound = (what: string) => new GatewayRequestError(404, 'not_found', `no such ${what}`);
export const forbidden = (message: string) => new GatewayRequestError(403, 'forbidden', message);

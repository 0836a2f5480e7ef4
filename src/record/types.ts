/**
 * The contract between the transport adapters (src/intercept) and the recorder: an adapter
 * describes one governed call as it happens, the recorder turns it into one row of
 * provably_intercepts. Adapters never talk to the store themselves.
 */

/** Who made a governed call: resolved from the active provably scope when the request was created. */
export interface CallScope {
  orgId: string;
  agentId: string;
  actionName: string;
  interceptIndex: number | null;
  /** Hex ids of the active OpenTelemetry span, or null when none is valid. */
  traceId: string | null;
  spanId: string | null;
}

/** Header values as transports report them; names are lower-cased by the recorder. */
export type HeaderMap = Record<string, string | readonly string[] | undefined>;

export interface CallRequest {
  method: string;
  url: string;
  headers: HeaderMap;
  startedAt: Date;
}

/**
 * One call being recorded. Methods other than finish/fail never throw and never block: chunk
 * copies at most the body cap and hashes the rest.
 */
export interface CallRecording {
  /** Response status line and headers arrived. */
  response(status: number, headers: HeaderMap): void;
  /** One body chunk exactly as received on the wire (still content-encoded). */
  chunk(bytes: Uint8Array): void;
  /**
   * The body ended. Resolves once the row is committed (the adapter releases end-of-body to the
   * caller only then); rejects with ProvablyStoreError only under PROVABLY_ON_STORE_ERROR=closed.
   */
  finish(): Promise<void>;
  /** The call failed (refused, reset, aborted). Records the row with `error`; never rejects. */
  fail(error: unknown): Promise<void>;
}

export interface Recorder {
  start(scope: CallScope, request: CallRequest): CallRecording;
}

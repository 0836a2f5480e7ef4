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
 * Who answered a governed call: the connection that carried it, as the socket itself saw it (never
 * what the client described). Part of the record's leaf, so a proof covers who answered.
 */
export interface CallPeer {
  /** The remote address the socket connected to (`socket.remoteAddress`), or the unix socket path. */
  address: string;
  /** The remote port; null for a unix socket. */
  port: number | null;
  /** The wire protocol of the exchange. */
  protocol: 'http/1.1' | 'h2';
  /** For TLS, the certificate the server presented; null over plain TCP. */
  tls: CallPeerTls | null;
  /** The origin of the declared egress proxy the call went through (`http://proxy:3128`), or null. */
  proxy: string | null;
}

export interface CallPeerTls {
  /** SHA-256 of the DER certificate, lower-case hex without separators. */
  certSha256: string;
  /** The certificate's subject as one line (`CN=api.example.com, O=…`). */
  subject: string;
  /** The subjectAltName extension as Node reports it (`DNS:a.example, IP Address:127.0.0.1`), or null. */
  subjectAltName: string | null;
}

/**
 * The peer as a stored row holds it: CallPeer with every field nullable, because a row read back
 * is shown (and its leaf rebuilt) exactly as stored, even one a superuser edited into a shape the
 * recorder never writes. `tls` is null exactly when its three columns are; a record's `peer` is
 * null exactly when all seven peer columns are.
 */
export interface RecordPeer {
  address: string | null;
  port: number | null;
  protocol: string | null;
  tls: { certSha256: string | null; subject: string | null; subjectAltName: string | null } | null;
  proxy: string | null;
}

/**
 * One call being recorded. Methods other than finish/fail never throw and never block: chunk
 * copies at most the body cap and hashes the rest.
 */
export interface CallRecording {
  /** Response status line and headers arrived. */
  /**
   * The connection carrying the call is known (called by the adapter before `response`, once the
   * socket that will carry the request is bound to it). A later call replaces an earlier one
   * (a retried connection). A row finished without one stores null peer fields.
   */
  peer(peer: CallPeer): void;
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
  /** The record's id, known before it is written (absent for recordings that write nothing). */
  readonly id?: string;
  /**
   * What was committed, once finish()/fail() settled with the row stored; undefined before, and
   * when the row was not stored (dropped under PROVABLY_ON_STORE_ERROR=open). For trace events.
   */
  stored?(): StoredCallSummary | undefined;
}

/** A committed row as trace events show it (see src/scope/trace-events.ts). */
export interface StoredCallSummary {
  id: string;
  orgId: string;
  method: string;
  url: string;
  status: number | null;
  bodySha256: string | null;
  bodySize: number | null;
  bodyTruncated: boolean;
  error: string | null;
  peer: {
    address: string | null;
    port: number | null;
    protocol: string | null;
    tlsCertSha256: string | null;
    proxy: string | null;
  } | null;
}

export interface Recorder {
  start(scope: CallScope, request: CallRequest): CallRecording;
}

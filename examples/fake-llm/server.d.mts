import type { IncomingHttpHeaders } from 'node:http';

export interface FakeToolCall {
  name: string;
  arguments?: Record<string, unknown>;
}

export interface FakeLlmOptions {
  /** Tools the model calls on its first turn (only those the request offers), in parallel. */
  toolCalls?: FakeToolCall[];
  /** The final answer, from the tool results the request carries. */
  finalText?: (results: ToolResult[]) => string;
  /** Send the first streamed text delta, then wait for release() before the rest. */
  hold?: boolean;
  port?: number;
}

export interface ToolResult {
  id: string;
  content: string;
}

export interface FakeLlmRequest {
  api: 'chat' | 'responses' | 'anthropic';
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  toolResults: ToolResult[];
}

export interface FakeLlm {
  /** Base URL for the SDKs: `http://127.0.0.1:<port>/v1`. */
  url: string;
  origin: string;
  requests: FakeLlmRequest[];
  release(): void;
  close(): Promise<void>;
}

export function startFakeLlm(options?: FakeLlmOptions): Promise<FakeLlm>;
export function toolResultsOf(api: FakeLlmRequest['api'], body: unknown): ToolResult[];

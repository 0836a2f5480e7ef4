/**
 * ProvablyGateway's options and environment → its decision backend: local (a policy, decided
 * in-process) or remote (a gateway URL and an API key). Every bad setting is a
 * ProvablyConfigError naming it, at construction, before anything is decided.
 */
import { defaultOrgId } from '../config/index.js';
import { ProvablyConfigError } from '../errors/index.js';
import { getDefaultStore } from '../store/index.js';
import type { DecisionBackend } from './backend.js';
import { PolicyEngine } from './engine.js';
import { FailOpenLog } from './fail-open.js';
import type { ProvablyGatewayOptions } from './gateway-options.js';
import { LocalBackend } from './local-backend.js';
import { readRedactParams } from './params.js';
import { RemoteBackend } from './remote-backend.js';
import { DEFAULT_POLL_MS } from './wait.js';

export const DEFAULT_TIMEOUT_MS = 90_000;
export const DEFAULT_LONG_POLL_SECONDS = 55;

export interface OpenedBackend {
  agentId: string;
  tenant: string;
  backend: DecisionBackend;
  /** Local mode's engine. */
  engine: PolicyEngine | undefined;
  /** Remote mode's gateway URL. */
  gatewayUrl: string | undefined;
}

export function openBackend(options: ProvablyGatewayOptions, env: NodeJS.ProcessEnv): OpenedBackend {
  const agentId = options.agentId ?? env.PROVABLY_AGENT_ID;
  if (typeof agentId !== 'string' || agentId.trim() === '') {
    throw new ProvablyConfigError(
      'agentId',
      'expected a non-empty agent id (option agentId or PROVABLY_AGENT_ID)',
    );
  }
  const tenant = options.tenant ?? defaultOrgId();
  const redact = options.redactParams ?? readRedactParams(env);
  if (
    options.gatewayUrl === undefined &&
    options.policy === undefined &&
    nonEmpty(env.PROVABLY_GATEWAY_URL) &&
    nonEmpty(env.PROVABLY_POLICY_FILE)
  ) {
    throw new ProvablyConfigError(
      'PROVABLY_GATEWAY_URL',
      'both PROVABLY_GATEWAY_URL (remote) and PROVABLY_POLICY_FILE (local) are set: unset one, or pass gatewayUrl or policy',
    );
  }
  const remoteUrl =
    options.gatewayUrl ?? (options.policy === undefined ? env.PROVABLY_GATEWAY_URL : undefined);
  if (remoteUrl !== undefined && remoteUrl !== '') {
    if (options.policy !== undefined) {
      throw new ProvablyConfigError(
        'gatewayUrl',
        'give either gatewayUrl (remote) or policy (local), not both',
      );
    }
    const url = gatewayUrlOf(remoteUrl);
    const apiKey = options.apiKey ?? env.PROVABLY_API_KEY;
    if (typeof apiKey !== 'string' || apiKey.trim() === '') {
      throw new ProvablyConfigError(
        'apiKey',
        'the remote gateway needs an API key (option apiKey or PROVABLY_API_KEY)',
      );
    }
    const onError = options.onGatewayError ?? readOnError(env.PROVABLY_GATEWAY_ON_ERROR);
    if (onError !== 'open' && onError !== 'closed') {
      throw new ProvablyConfigError(
        'onGatewayError',
        `expected 'closed' or 'open', got ${JSON.stringify(onError)}`,
      );
    }
    const timeoutMs = bounded('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, 600_000);
    const longPollSeconds = Math.ceil(
      bounded(
        'longPollSeconds',
        options.longPollSeconds ?? DEFAULT_LONG_POLL_SECONDS,
        1,
        DEFAULT_LONG_POLL_SECONDS,
      ),
    );
    const store = options.store;
    const failOpen =
      onError === 'open'
        ? new FailOpenLog({ store: () => store ?? getDefaultStore(), tenant, redact, gatewayUrl: url.href })
        : undefined;
    return {
      agentId,
      tenant,
      engine: undefined,
      gatewayUrl: url.href,
      backend: new RemoteBackend({ url, apiKey: apiKey.trim(), timeoutMs, longPollSeconds, failOpen }),
    };
  }
  const policy = options.policy ?? env.PROVABLY_POLICY_FILE;
  if (policy === undefined) {
    throw new ProvablyConfigError(
      'policy',
      'expected Cedar text or a policy file (option policy or PROVABLY_POLICY_FILE), or gatewayUrl (PROVABLY_GATEWAY_URL) for a remote gateway',
    );
  }
  const engine = new PolicyEngine({
    policy,
    schema: options.schema,
    mode: options.mode,
    watch: options.watch,
    defaultHoldSeconds: options.defaultHoldSeconds,
  });
  const backend = new LocalBackend({
    engine,
    store: options.store ?? getDefaultStore(),
    tenant,
    redact,
    pollMs: options.pollMs ?? DEFAULT_POLL_MS,
  });
  return { agentId, tenant, backend, engine, gatewayUrl: undefined };
}

function gatewayUrlOf(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ProvablyConfigError('gatewayUrl', `not a URL: ${JSON.stringify(value.slice(0, 100))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProvablyConfigError('gatewayUrl', `expected an http: or https: URL, got ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ProvablyConfigError(
      'gatewayUrl',
      'credentials in the URL are not used: give the API key as apiKey',
    );
  }
  // The REST paths are absolute (/v1/…): a base path would be silently dropped.
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new ProvablyConfigError(
      'gatewayUrl',
      `expected the gateway's origin (e.g. http://localhost:4587), got ${url.href}`,
    );
  }
  return url;
}

function nonEmpty(v: string | undefined): boolean {
  return v !== undefined && v.trim() !== '';
}

function readOnError(value: string | undefined): string {
  if (value === undefined || value.trim() === '') return 'closed';
  return value.trim().toLowerCase();
}

function bounded(setting: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ProvablyConfigError(setting, `expected a number from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

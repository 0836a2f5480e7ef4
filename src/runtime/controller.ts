/**
 * The process-wide provably controller. It lives in a global slot (not in module state)
 * because one process can load provably twice — the ESM preload (`--import provably/register`)
 * and a CommonJS `require('provably')` from the app get separate module copies — and the
 * controls (enable/disable, hooks, allowlist) must reach the copy that installed the
 * interception.
 */
import type { InterceptBodyHook } from '../intercept/index.js';
import type { OtelWiringMode } from '../scope/index.js';
import type { TrustMatcher } from '../trust/index.js';

export interface ProvablyStatus {
  /** Whether the interception is installed in this process (the preload ran, or startProvably). */
  started: boolean;
  enabled: boolean;
  blocked: number;
  /** Of `blocked`: connections refused by the connection guard (net/tls sockets, CONNECT). */
  connectionsBlocked: number;
  /** Scoped requests refused because their socket did not go to their URL's origin. */
  peerMismatches: number;
  recorded: number;
  gateErrors: number;
  internalErrors: number;
  storeErrors: number;
  /** Calls whose row could not be written under PROVABLY_ON_STORE_ERROR=open. */
  dropped: number;
  /** How OpenTelemetry is wired for scopes ('pending' until first needed; at start in GenAI mode). */
  otelWiring: OtelWiringMode;
  /**
   * Span-visibility problems found (each also a diag warning): with GenAI span mapping on, spans
   * provably may not see, so calls inside them would not be governed. 0 when all is seen.
   */
  spanWarnings: number;
}

export interface ProvablyController {
  started: boolean;
  enabled: boolean;
  /** Governed calls are recorded only when their URL matches (null: all are recorded). */
  recordAllowlist: TrustMatcher | null;
  bodyHook: InterceptBodyHook | undefined;
  /** Hands `bodyHook` to the installed interception (nothing to do before start). */
  applyBodyHook(): void;
  status(): ProvablyStatus;
  shutdown(): Promise<void>;
}

const SLOT = Symbol.for('provably.controller.v1');

type GlobalWithSlot = typeof globalThis & { [SLOT]?: ProvablyController };

/** The controller in force; before start it is a passive one that only keeps the settings. */
export function controller(): ProvablyController {
  const g = globalThis as GlobalWithSlot;
  let c = g[SLOT];
  if (!c) {
    c = passiveController();
    g[SLOT] = c;
  }
  return c;
}

/** Installs `c` as the process-wide controller, carrying over settings made before start. */
export function installController(c: ProvablyController): void {
  const previous = controller();
  c.enabled = previous.enabled;
  c.recordAllowlist = previous.recordAllowlist;
  c.bodyHook = previous.bodyHook;
  (globalThis as GlobalWithSlot)[SLOT] = c;
  c.applyBodyHook();
}

function passiveController(): ProvablyController {
  return {
    started: false,
    enabled: true,
    recordAllowlist: null,
    bodyHook: undefined,
    applyBodyHook() {},
    status() {
      return {
        started: false,
        enabled: this.enabled,
        blocked: 0,
        connectionsBlocked: 0,
        peerMismatches: 0,
        recorded: 0,
        gateErrors: 0,
        internalErrors: 0,
        storeErrors: 0,
        dropped: 0,
        otelWiring: 'pending',
        spanWarnings: 0,
      };
    },
    async shutdown() {},
  };
}

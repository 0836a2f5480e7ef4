/** Runs the eval service on a port (`provably serve`). */
import { serve } from '@hono/node-server';
import { evaluateHandoff, ledgerProofVerifier } from '../eval/index.js';
import type { TrustedKeys } from '../ledger/index.js';
import type { Store } from '../store/index.js';
import { createEvalApp } from './app.js';
import { DEFAULT_HOST, DEFAULT_PORT } from './defaults.js';
import { jsonLineLog, type ServiceLog } from './log.js';

export { DEFAULT_HOST, DEFAULT_PORT };

export interface EvalServerOptions {
  store: Store;
  trustedKeys: TrustedKeys;
  /**
   * Check each record against this store's rows and endpoint registry (default). False: judge by
   * the payload alone — proofs against the trusted keys, endpoints against `trustedEndpoints` or,
   * when that is absent, the payload's own snapshot — for a receiver that holds no copy of the
   * sender's records (the store then only keeps the verdicts).
   */
  checkStore?: boolean;
  trustedEndpoints?: readonly string[];
  port?: number;
  host?: string;
  bodyLimitBytes?: number;
  log?: ServiceLog;
}

export interface RunningEvalServer {
  url: string;
  close(): Promise<void>;
}

export function startEvalServer(options: EvalServerOptions): Promise<RunningEvalServer> {
  const log = options.log ?? jsonLineLog();
  const checkStore = options.checkStore !== false;
  const app = createEvalApp({
    store: options.store,
    log,
    bodyLimitBytes: options.bodyLimitBytes,
    evaluate: (payload) =>
      evaluateHandoff(payload, {
        trustedKeys: options.trustedKeys,
        verifyProof: ledgerProofVerifier,
        ...(checkStore ? { store: options.store } : {}),
        // Bug fix: independent mode passed `payload.trusted_endpoints ?? []` as the receiver's
        // list, so a payload without a snapshot got every claim CAUGHT ("endpoint missing")
        // where the evaluator answers ERROR (no snapshot: it cannot decide). Without a list of
        // its own the evaluator consults the payload's snapshot by itself.
        ...(options.trustedEndpoints ? { trustedEndpoints: options.trustedEndpoints } : {}),
      }),
  });
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, port: options.port ?? DEFAULT_PORT, hostname: options.host ?? DEFAULT_HOST },
      (info) => {
        const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
        const url = `http://${host}:${info.port}`;
        log.info('listening', { url, check_store: checkStore, store: options.store.backend });
        resolve({
          url,
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      },
    );
    server.once('error', reject);
  });
}

/** Runs the gateway on a port (`provably gateway`): the app, the expiry sweep. */
import { serve } from '@hono/node-server';
import type { Signer } from '../ledger/index.js';
import type { PolicyMode } from '../policy/index.js';
import { jsonLineLog, type ServiceLog } from '../server/index.js';
import type { Store } from '../store/types.js';
import { createGatewayApp } from './app.js';
import { DEFAULT_GATEWAY_HOST, DEFAULT_GATEWAY_PORT, DEFAULT_SWEEP_MS } from './defaults.js';
import { startExpirySweep } from './sweep.js';

export { DEFAULT_GATEWAY_HOST, DEFAULT_GATEWAY_PORT } from './defaults.js';

export interface GatewayServerOptions {
  store: Store;
  port?: number;
  host?: string;
  log?: ServiceLog;
  /** Signs checkpoints for proofs (loaded on first use). */
  signer?: () => Signer;
  mode?: PolicyMode;
  redactParams?: readonly string[];
  pollMs?: number;
  /** How often pending escalations past expiry are marked expired (default 5 s). */
  sweepMs?: number;
  bodyLimitBytes?: number;
  /** How long a resolved API key is remembered (default 1000 ms). */
  keyCacheMs?: number;
  /** How long a tenant's serving policy version is trusted without a change notice (default 1000 ms). */
  policyRefreshMs?: number;
}

export interface RunningGatewayServer {
  url: string;
  close(): Promise<void>;
}

export async function startGatewayServer(options: GatewayServerOptions): Promise<RunningGatewayServer> {
  const log = options.log ?? jsonLineLog();
  const { app, ready, close: closeApp } = createGatewayApp({ ...options, log });
  // Listen for policy changes before taking calls: a change made by another replica between
  // this start and an active LISTEN would otherwise wait for the refresh bound.
  await ready;
  const sweep = startExpirySweep(options.store, log, options.sweepMs ?? DEFAULT_SWEEP_MS);
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: app.fetch,
        port: options.port ?? DEFAULT_GATEWAY_PORT,
        hostname: options.host ?? DEFAULT_GATEWAY_HOST,
      },
      (info) => {
        const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
        const url = `http://${host}:${info.port}`;
        log.info('listening', { url, store: options.store.backend });
        resolve({
          url,
          async close() {
            await sweep.close();
            // Long-polls end with the server: closeAllConnections stops held requests.
            const closed = new Promise<void>((done) => server.close(() => done()));
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
            await closed;
            await closeApp();
          },
        });
      },
    );
    // A connection the HTTP parser refused or that failed mid-request: logged, then Node's
    // default answer (400 / 408 / 431, or a plain close when the socket is gone).
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      log.error('client connection error', { code: err.code ?? null, error: err.message });
      if (socket.writable && !socket.destroyed)
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    server.once('error', (err) => {
      void sweep.close();
      void closeApp();
      reject(err);
    });
  });
}

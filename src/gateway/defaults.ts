/** The gateway's defaults, in a module without Hono so the CLI can name them without loading the server. */
export const DEFAULT_GATEWAY_PORT = 4587;
export const DEFAULT_GATEWAY_HOST = '127.0.0.1';
/** How often each gateway expires due escalations. */
export const DEFAULT_SWEEP_MS = 5_000;
/** How long a resolved API key is remembered. */
export const DEFAULT_KEY_CACHE_MS = 1000;

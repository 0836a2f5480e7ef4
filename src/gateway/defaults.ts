/** The gateway's defaults, in a module without Hono so the CLI can name them without loading the server. */
export const DEFAULT_GATEWAY_PORT = 4587;
export const DEFAULT_GATEWAY_HOST = '127.0.0.1';
/** How often each gateway expires due escalations. */
export const DEFAULT_SWEEP_MS = 5_000;
/** How long a resolved API key is remembered. */
export const DEFAULT_KEY_CACHE_MS = 1000;
/**
 * How old a gateway's knowledge of a tenant's serving policy version may be: the bound on a
 * policy change pushed through another replica when its notification is lost.
 */
export const DEFAULT_POLICY_REFRESH_MS = 1000;

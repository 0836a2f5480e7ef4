/** Where the eval service listens by default: a module of its own so the CLI's help can name
 * the defaults without loading the HTTP server. */
export const DEFAULT_PORT = 4588;
export const DEFAULT_HOST = '127.0.0.1';

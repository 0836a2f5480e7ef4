/**
 * Sockets opened by provably's own store (the PostgreSQL pool). The connection guard
 * (src/intercept/connect-guard.ts) lets them connect whatever scope is active: the store's
 * traffic is provably's, never the agent's — a `listIntercepts()` called inside a scope, or a
 * process whose every line runs in an inherited scope, still reaches its database. A module
 * with no imports, so the guard can consult it without loading the store.
 */
const own = new WeakSet<object>();

export function markOwnSocket<T extends object>(socket: T): T {
  own.add(socket);
  return socket;
}

export function isOwnSocket(socket: object): boolean {
  return own.has(socket);
}

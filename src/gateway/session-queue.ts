/**
 * Decisions of one session, one at a time in this process: a session's counts are read, the
 * decision made and recorded, before the next call of the same session reads them — so a
 * policy capping a session (`context.session.allowed < 3`) holds under concurrent calls to one
 * gateway. Calls of different sessions (and calls without a session) never wait for each other.
 * Across replicas the counts are not locked (see README, Gateway server limits).
 */
export class SessionQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string | null, fn: () => Promise<T>): Promise<T> {
    if (key === null) return fn();
    const before = this.#tails.get(key) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const tail = mine.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    // The last in line clears the entry, so idle sessions hold no memory.
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return mine;
  }
}

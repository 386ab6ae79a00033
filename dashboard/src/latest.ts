/**
 * "Latest wins" for a page's requests, without a DOM or a framework (tests/unit/dashboard-use-api.test.ts).
 *
 * Each request takes a ticket when it starts. Its answer, a value or an error alike, reaches the page only if no newer
 * request started since, nothing invalidated it, and the gate was not disposed: a slow answer to an old question (a
 * tab switched, a range changed, a reload) never overwrites a fresh one, and nothing lands after the page is gone.
 */
export class LatestGate {
  #newest = 0;
  #disposed = false;

  /** A request starts: every older one is stale from now on. The check its answer must pass, when it comes, to land. */
  begin(): () => boolean {
    const ticket = ++this.#newest;
    return () => !this.#disposed && ticket === this.#newest;
  }

  /**
   * Start `request` and hand its answer to `onValue` or its failure to `onError`, only if it is still the newest
   * request when the answer arrives. A request that throws before it returns a promise fails the same way.
   */
  track<T>(request: () => Promise<T>, onValue: (value: T) => void, onError: (error: unknown) => void): void {
    const isLatest = this.begin();
    let answer: Promise<T>;
    try {
      answer = request();
    } catch (e) {
      answer = Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    answer.then(
      (value) => {
        if (isLatest()) onValue(value);
      },
      (e: unknown) => {
        if (isLatest()) onError(e);
      },
    );
  }

  /** The requests in flight are stale (the question changed); requests started later may still land. */
  invalidate(): void {
    this.#newest += 1;
  }

  /** Nothing may land any more, neither what is in flight nor anything asked later (the page is gone). */
  dispose(): void {
    this.#disposed = true;
  }
}

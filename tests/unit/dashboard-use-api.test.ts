import { describe, expect, it } from 'vitest';
import { LatestGate } from '../../dashboard/src/latest.js';

/**
 * The dashboard's "latest wins" rule (dashboard/src/latest.ts), which useApi, useList and the pages that merge or
 * append (overview, audit) follow: an answer reaches the page only if it answers the newest request, and never after
 * the page is gone. No DOM: the gate is plain TypeScript, and the answers are promises settled by hand.
 */

/** A request whose answer the test decides, and when. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** What landed on the "page", in order. */
function page(): { landed: string[]; onValue: (value: string) => void; onError: (error: unknown) => void } {
  const landed: string[] = [];
  return {
    landed,
    onValue: (value) => landed.push(`value:${value}`),
    onError: (error) => landed.push(`error:${error instanceof Error ? error.message : String(error)}`),
  };
}

/** Let every settled promise run its handlers. */
const flush = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('LatestGate (the dashboard keeps only the newest answer)', () => {
  it('keeps the answer to the only request', async () => {
    const gate = new LatestGate();
    const p = page();
    const answer = deferred<string>();
    gate.track(() => answer.promise, p.onValue, p.onError);
    expect(p.landed).toEqual([]); // nothing lands before the answer
    answer.resolve('a');
    await flush();
    expect(p.landed).toEqual(['value:a']);
  });

  it('drops an answer to an older request that arrives after the newer one', async () => {
    const gate = new LatestGate();
    const p = page();
    const older = deferred<string>();
    const newer = deferred<string>();
    gate.track(() => older.promise, p.onValue, p.onError); // tab "active"
    gate.track(() => newer.promise, p.onValue, p.onError); // tab "cleared", asked while "active" was in flight
    newer.resolve('cleared');
    await flush();
    older.resolve('active'); // the slow answer to the old question
    await flush();
    expect(p.landed).toEqual(['value:cleared']);
  });

  it('drops an older answer that arrives first, and keeps the newest when it comes', async () => {
    const gate = new LatestGate();
    const p = page();
    const older = deferred<string>();
    const newer = deferred<string>();
    gate.track(() => older.promise, p.onValue, p.onError);
    gate.track(() => newer.promise, p.onValue, p.onError);
    older.resolve('old');
    await flush();
    expect(p.landed).toEqual([]);
    newer.resolve('new');
    await flush();
    expect(p.landed).toEqual(['value:new']);
  });

  it('keeps only the latest of many requests, whatever order they answer in', async () => {
    const gate = new LatestGate();
    const p = page();
    const answers = [0, 1, 2, 3, 4].map(() => deferred<string>());
    for (const a of answers) gate.track(() => a.promise, p.onValue, p.onError);
    for (const i of [3, 4, 0, 2, 1]) answers[i]!.resolve(`r${i}`);
    await flush();
    expect(p.landed).toEqual(['value:r4']);
  });

  it('drops an answer that arrives after dispose (the page is gone), and anything asked after it', async () => {
    const gate = new LatestGate();
    const p = page();
    const inFlight = deferred<string>();
    gate.track(() => inFlight.promise, p.onValue, p.onError);
    gate.dispose();
    inFlight.resolve('late');
    const askedAfter = deferred<string>();
    gate.track(() => askedAfter.promise, p.onValue, p.onError); // e.g. a reload from a child's late callback
    askedAfter.resolve('later');
    const failedAfter = deferred<string>();
    gate.track(() => failedAfter.promise, p.onValue, p.onError);
    failedAfter.reject(new Error('gone'));
    await flush();
    expect(p.landed).toEqual([]);
  });

  it('drops what was in flight when invalidated (the deps changed), but keeps a request made afterwards', async () => {
    const gate = new LatestGate();
    const p = page();
    const before = deferred<string>();
    gate.track(() => before.promise, p.onValue, p.onError);
    gate.invalidate();
    const after = deferred<string>();
    gate.track(() => after.promise, p.onValue, p.onError);
    after.resolve('station B');
    before.resolve('station A');
    await flush();
    expect(p.landed).toEqual(['value:station B']);
  });

  describe('errors follow the same rule', () => {
    it('drops an older request failing after a newer one answered', async () => {
      const gate = new LatestGate();
      const p = page();
      const older = deferred<string>();
      const newer = deferred<string>();
      gate.track(() => older.promise, p.onValue, p.onError);
      gate.track(() => newer.promise, p.onValue, p.onError);
      newer.resolve('fresh');
      await flush();
      older.reject(new Error('502 from the old request'));
      await flush();
      expect(p.landed).toEqual(['value:fresh']); // the fresh data are not hidden behind a stale error
    });

    it('drops an older answer after the newest failed: the error stays', async () => {
      const gate = new LatestGate();
      const p = page();
      const older = deferred<string>();
      const newer = deferred<string>();
      gate.track(() => older.promise, p.onValue, p.onError);
      gate.track(() => newer.promise, p.onValue, p.onError);
      newer.reject(new Error('offline'));
      await flush();
      older.resolve('stale rows');
      await flush();
      expect(p.landed).toEqual(['error:offline']);
    });

    it('keeps the error of the latest request', async () => {
      const gate = new LatestGate();
      const p = page();
      const answer = deferred<string>();
      gate.track(() => answer.promise, p.onValue, p.onError);
      answer.reject(new Error('unexpected answer from /api/overview'));
      await flush();
      expect(p.landed).toEqual(['error:unexpected answer from /api/overview']);
    });

    it('drops an error after dispose', async () => {
      const gate = new LatestGate();
      const p = page();
      const answer = deferred<string>();
      gate.track(() => answer.promise, p.onValue, p.onError);
      gate.dispose();
      answer.reject(new Error('late failure'));
      await flush();
      expect(p.landed).toEqual([]);
    });

    it('treats a request that throws before returning a promise as a failed request, under the same rule', async () => {
      const gate = new LatestGate();
      const p = page();
      const throwing = (): Promise<string> => {
        throw new Error('bad request');
      };
      gate.track(throwing, p.onValue, p.onError);
      await flush();
      expect(p.landed).toEqual(['error:bad request']);

      const newer = deferred<string>();
      gate.track(throwing, p.onValue, p.onError);
      gate.track(() => newer.promise, p.onValue, p.onError);
      newer.resolve('ok');
      await flush();
      expect(p.landed).toEqual(['error:bad request', 'value:ok']);
    });
  });

  it('begin() gives a check that holds only while its request is the newest and the gate is open', () => {
    const gate = new LatestGate();
    const first = gate.begin();
    expect(first()).toBe(true);
    const second = gate.begin();
    expect([first(), second()]).toEqual([false, true]);
    gate.dispose();
    expect(second()).toBe(false);
    expect(gate.begin()()).toBe(false);
  });
});

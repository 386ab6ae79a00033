/**
 * Index arithmetic over the engine's window, which is kept sorted by `ts` (engine.ts inserts in order). Every rule
 * looks at a recent slice of it — 5 minutes, an hour, two hours — so finding the slice by binary search instead of
 * filtering the whole window keeps a reading's cost independent of how many readings the window retains
 * (at 10 s sampling, three hours are 1,080 samples).
 */
interface Timed {
  ts: number;
}

/** First index whose ts ≥ `ts` (`items.length` when none). */
export function lowerBound(items: readonly Timed[], ts: number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((items[mid] as Timed).ts < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose ts > `ts` (`items.length` when none). */
export function upperBound(items: readonly Timed[], ts: number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((items[mid] as Timed).ts <= ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `items` with `item` placed at index `at`, keeping only entries with ts ≥ `cutoffTs` (a new array; `items` is not touched). */
export function insertedAt<T extends Timed>(items: readonly T[], at: number, item: T, cutoffTs: number): T[] {
  if (at === items.length) {
    const kept = items.slice(lowerBound(items, cutoffTs));
    if (item.ts >= cutoffTs) kept.push(item);
    return kept;
  }
  const merged = [...items.slice(0, at), item, ...items.slice(at)];
  return merged.slice(lowerBound(merged, cutoffTs));
}

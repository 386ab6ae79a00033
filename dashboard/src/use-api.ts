import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from './api.js';
import { LatestGate } from './latest.js';

export interface ApiState<T> {
  data: T | null;
  error: string | null;
  /** Load again (a live event, a saved form); the answer replaces the data when it comes. */
  reload: () => void;
}

/**
 * The component's own "latest wins" gate (latest.ts), disposed when the component goes: for a page that cannot use
 * `useApi` (it merges live rows into a snapshot, or appends pages), so its answers follow the same rule.
 */
export function useLatestGate(): LatestGate {
  const gate = useRef<LatestGate | null>(null);
  gate.current ??= new LatestGate();
  const current = gate.current;
  useEffect(() => () => current.dispose(), [current]);
  return current;
}

/**
 * Load `load()` when the page shows, whenever `deps` change, and on `reload()`. Only the newest request may set the
 * state: an answer that arrives after a newer request was made (a tab switched, a range changed, a reload) is dropped,
 * so a slow answer never overwrites a fresh one, and nothing is set after the page is gone (latest.ts decides). With
 * `clearOnChange` the old data disappear while new `deps` load (a different station); otherwise they stay until the
 * answer (a reload).
 */
export function useApi<T>(load: () => Promise<T>, deps: readonly unknown[], clearOnChange = true): ApiState<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const gate = useLatestGate();
  // `load` is a fresh closure on every render; the request it makes is decided by the caller's `deps`.
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback(() => {
    gate.track(
      () => loadRef.current(),
      (value) => {
        setData(value);
        setError(null);
      },
      (e) => setError(errorText(e)),
    );
  }, [gate]);

  useEffect(() => {
    if (clearOnChange) setData(null);
    setError(null);
    run();
    return () => gate.invalidate(); // the deps changed or the page is gone: whatever answers now is stale
  }, deps);

  return { data, error, reload: run };
}

/** Loads a list and offers a reload after a create (the newest answer wins: latest.ts). */
export function useList<T>(load: () => Promise<T[]>): { rows: T[] | null; error: string | null; reload: () => void } {
  const { data, error, reload } = useApi(load, [], false);
  return { rows: data, error, reload };
}

import { useEffect, useRef, useState } from 'preact/hooks';
import type { Alert } from '../../contracts/alerts.js';
import type { StationOverview } from '../../contracts/dashboard.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

export interface LiveHandlers {
  station?: (row: StationOverview) => void;
  alert?: (alert: Alert) => void;
  /** Called on every (re)connect: events missed while away are not replayed, so reload the snapshot. */
  open?: () => void;
}

/**
 * Subscribes to GET /api/events while the component is mounted. EventSource reconnects by itself;
 * we only mirror its state so the officer can see whether the numbers are current.
 */
export function useLiveEvents(handlers: LiveHandlers): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const ref = useRef(handlers);
  ref.current = handlers;
  useEffect(() => {
    const source = new EventSource('/api/events', { withCredentials: true });
    source.onopen = () => {
      setState('live');
      ref.current.open?.();
    };
    source.onerror = () => setState('reconnecting');
    source.addEventListener('station', (event) => {
      const row = parse<StationOverview>(event);
      if (row) ref.current.station?.(row);
    });
    source.addEventListener('alert', (event) => {
      const alert = parse<Alert>(event);
      if (alert) ref.current.alert?.(alert);
    });
    return () => source.close();
  }, []);
  return state;
}

function parse<T>(event: Event): T | null {
  if (!(event instanceof MessageEvent) || typeof event.data !== 'string') return null;
  try {
    return JSON.parse(event.data) as T;
  } catch {
    return null;
  }
}

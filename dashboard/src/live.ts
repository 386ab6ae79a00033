import { useEffect, useRef, useState } from 'preact/hooks';
import type { z } from 'zod';
import type { Alert } from '../../contracts/alerts.js';
import type { StationOverview } from '../../contracts/dashboard.js';
import { liveEvents } from './endpoints.js';

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
    const source = new EventSource(liveEvents.path, { withCredentials: true });
    source.onopen = () => {
      setState('live');
      ref.current.open?.();
    };
    source.onerror = () => setState('reconnecting');
    source.addEventListener('station', (event) => {
      const row = parse(liveEvents.schemas.station, event);
      if (row) ref.current.station?.(row);
    });
    source.addEventListener('alert', (event) => {
      const alert = parse(liveEvents.schemas.alert, event);
      if (alert) ref.current.alert?.(alert);
    });
    return () => source.close();
  }, []);
  return state;
}

/** An event's data, if it is JSON that matches its contract schema; null (the event is dropped) otherwise. */
function parse<S extends z.ZodType>(schema: S, event: Event): z.infer<S> | null {
  if (!(event instanceof MessageEvent) || typeof event.data !== 'string') return null;
  let json: unknown;
  try {
    json = JSON.parse(event.data);
  } catch {
    return null;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

import type { Logger } from 'pino';
import { type Alert, type Clock, type StationOverview, systemClock } from '../../contracts/index.js';

export type DashboardEvent = { event: 'station'; data: StationOverview } | { event: 'alert'; data: Alert };
export type EventListener = (event: DashboardEvent) => void;

export interface EventSources {
  /** Engine evaluated a station; returns an unsubscribe. */
  onStationChanged(listener: (stationId: string) => void): () => void;
  onAlertChanged(listener: (alertId: number) => void): () => void;
  overviewOf(stationId: string): StationOverview | null;
  alert(alertId: number): Alert | null;
  logger: Logger;
  /** At most one station event per station per this many ms (real time: it protects browsers, not the model). */
  throttleMs?: number;
  /** The server's clock; default the system clock. An accelerated clock's time is scaled back by its speed to real time. */
  clock?: Clock;
}

/**
 * Fans engine and alert changes out to the dashboard's event streams. A station evaluated every reading of a
 * backfill would flood a browser, so station events are throttled per station, trailing: the last state always
 * goes out. Alert events are rare and each one matters: never throttled.
 */
export class DashboardEvents {
  readonly #o: EventSources;
  readonly #clock: Clock;
  readonly #listeners = new Set<EventListener>();
  readonly #lastSentMs = new Map<string, number>();
  readonly #pending = new Map<string, NodeJS.Timeout>();
  readonly #unsubscribe: Array<() => void>;
  #closed = false;

  constructor(sources: EventSources) {
    this.#o = sources;
    this.#clock = sources.clock ?? systemClock;
    this.#unsubscribe = [
      sources.onStationChanged((id) => this.#stationChanged(id)),
      sources.onAlertChanged((id) => this.#guard(() => this.#alertChanged(id))),
    ];
  }

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  /** Stop listening and drop pending station events. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#unsubscribe) off();
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
    this.#listeners.clear();
  }

  #stationChanged(stationId: string): void {
    if (this.#closed || this.#listeners.size === 0 || this.#pending.has(stationId)) return;
    const throttleMs = this.#o.throttleMs ?? 1_000;
    // Always a timer, even when due now: the engine runs inside the ingest's call, before the caller marks the
    // station as heard, and a macrotask later the overview shows the reading's lastSeenAt too.
    const sinceLastMs = (this.#clock.now() - (this.#lastSentMs.get(stationId) ?? -Infinity)) / this.#clock.speed;
    const waitMs = Math.max(0, throttleMs - sinceLastMs);
    const timer = setTimeout(() => {
      this.#pending.delete(stationId);
      this.#guard(() => this.#sendStation(stationId));
    }, waitMs);
    timer.unref();
    this.#pending.set(stationId, timer);
  }

  #sendStation(stationId: string): void {
    this.#lastSentMs.set(stationId, this.#clock.now());
    const overview = this.#o.overviewOf(stationId);
    if (overview) this.#emit({ event: 'station', data: overview });
  }

  #alertChanged(alertId: number): void {
    if (this.#closed || this.#listeners.size === 0) return;
    const alert = this.#o.alert(alertId);
    if (alert) this.#emit({ event: 'alert', data: alert });
  }

  #emit(event: DashboardEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  /** Runs from the engine's call stack or a microtask: a failure here must stay here. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#o.logger.error({ err }, 'dashboard event failed');
    }
  }
}

/**
 * What held this process's event loop while a measurement ran: the event-loop delay (how late a timer fired, sampled
 * every 10 ms by Node) and every garbage-collection pause V8 reported. A latency tail that matches these is the thread
 * being busy or collecting, not the path itself being slow.
 */
import { type PerformanceEntry, PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopStalls {
  delayP99Ms: number;
  delayMaxMs: number;
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  /** Which collection the longest pause was: 'minor' (scavenge), 'major' (mark-compact), 'incremental', 'weak callbacks'. */
  gcMaxKind: string;
}

const KINDS = new Map<number, string>([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weak callbacks'],
]);

export function watchEventLoop(): { stop(): EventLoopStalls } {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  const pauses: { ms: number; kind: string }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      pauses.push({ ms: entry.duration, kind: KINDS.get(kind ?? -1) ?? 'other' });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  delay.enable();
  return {
    stop: () => {
      delay.disable();
      observer.disconnect();
      const longest = pauses.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: 0, kind: 'none' });
      return {
        delayP99Ms: delay.percentile(99) / 1e6,
        delayMaxMs: delay.max / 1e6,
        gcCount: pauses.length,
        gcTotalMs: pauses.reduce((a, b) => a + b.ms, 0),
        gcMaxMs: longest.ms,
        gcMaxKind: longest.kind,
      };
    },
  };
}

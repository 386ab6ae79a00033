import { Counter, type Registry } from 'prom-client';

/**
 * `frostwatch_ingest_rejected_total{reason}`: what the server's own intakes refused (the broker consumer of
 * `frostwatch server`, the TTS client). One counter per registry, shared by whichever of them run.
 */
export function ingestRejectedCounter(metrics: Registry): Counter<'reason'> {
  const name = 'frostwatch_ingest_rejected_total';
  return (
    (metrics.getSingleMetric(name) as Counter<'reason'> | undefined) ??
    new Counter({
      name,
      help: 'Readings or messages refused by the ingest, by reason',
      labelNames: ['reason'] as const,
      registers: [metrics],
    })
  );
}

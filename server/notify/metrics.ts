import { Counter, Gauge, type Registry } from 'prom-client';
import type { OutboxRepository } from './outbox.js';

/** The notifier's Prometheus series: what the recorder counts, and the queue depth read from the outbox at scrape. */
export type NotifyMetrics = ReturnType<typeof createNotifyMetrics>;

export function createNotifyMetrics(registry: Registry, outbox: OutboxRepository) {
  const registers = [registry];
  const labelNames = ['channel'] as const;
  new Gauge({
    name: 'frostwatch_notify_queue_depth',
    help: 'Outbox rows waiting or in flight',
    registers,
    collect() {
      this.set(outbox.depth());
    },
  });
  return {
    sent: new Counter({ name: 'frostwatch_notify_sent_total', help: 'Messages and calls Twilio accepted', labelNames, registers }),
    failed: new Counter({ name: 'frostwatch_notify_failed_total', help: 'Rows Twilio refused for good (4xx)', labelNames, registers }),
    retries: new Counter({
      name: 'frostwatch_notify_retries_total',
      help: 'Failed attempts scheduled again (429, 5xx, timeouts)',
      labelNames,
      registers,
    }),
    gaveUp: new Counter({ name: 'frostwatch_notify_gave_up_total', help: 'Rows abandoned after the last attempt', labelNames, registers }),
    dryRun: new Counter({
      name: 'frostwatch_notify_dry_run_total',
      help: 'Rows composed but not sent (no Twilio credentials)',
      labelNames,
      registers,
    }),
  };
}

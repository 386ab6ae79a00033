import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createRejectLog } from '../../gateway/reject-log.js';
import { StationRefusals } from '../../server/ingest/refusals.js';

describe('refusals kept per station', () => {
  it('tallies each station by reason, most recent first, beside the metric', async () => {
    let now = 1_000;
    const registry = new Registry();
    const counter = new Counter({ name: 'rejected_total', help: 'h', labelNames: ['reason'] as const, registers: [registry] });
    const tally = new StationRefusals();
    const log = createRejectLog(counter, pino({ level: 'silent' }), { now: () => now, speed: 1 }, tally);
    log.reject('ld-a', 'out_of_range', 3);
    now = 2_000;
    log.reject('ld-a', 'bad_json');
    now = 3_000;
    log.reject('ld-a', 'out_of_range');
    log.reject(null, 'unknown_topic'); // no station to show it beside: metric and log only
    log.reject('ld-b', 'forbidden_topic');
    expect(tally.of('ld-a')).toEqual([
      { reason: 'out_of_range', count: 4, lastAtMs: 3_000 },
      { reason: 'bad_json', count: 1, lastAtMs: 2_000 },
    ]);
    expect(tally.of('ld-b')).toEqual([{ reason: 'forbidden_topic', count: 1, lastAtMs: 3_000 }]);
    expect(tally.of('ld-none')).toEqual([]);
    const metric = await registry.getSingleMetric('rejected_total')?.get();
    expect(metric?.values.find((v) => v.labels.reason === 'out_of_range')?.value).toBe(4);
    expect(metric?.values.find((v) => v.labels.reason === 'unknown_topic')?.value).toBe(1);
  });

  it('stays bounded: past its size the tally starts afresh rather than grow', () => {
    const tally = new StationRefusals(2);
    tally.record('a', 'bad_json', 1, 1);
    tally.record('b', 'bad_json', 1, 2);
    tally.record('c', 'bad_json', 1, 3);
    expect(tally.of('a')).toEqual([]);
    expect(tally.of('c')).toHaveLength(1);
  });
});

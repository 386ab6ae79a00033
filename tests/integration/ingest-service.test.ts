import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock, Reading, StationId } from '../../contracts/index.js';
import { startManagedInfluxd } from '../../server/influx/managed-influxd.js';
import type { ManagedInfluxd } from '../../server/influx/managed-influxd.js';
import { queryReadings } from '../../server/influx/readings-query.js';
import { createIngestService } from '../../server/ingest/ingest-service.js';
import type { IngestService } from '../../server/ingest/ingest-service.js';
import { startTestInfluxd } from '../helpers/influxd.js';
import type { TestInfluxd } from '../helpers/influxd.js';

const T0 = Date.UTC(2025, 0, 20, 20, 0, 0, 0);
const clock: Clock = { now: () => T0 + 3_600_000, speed: 1 };
const station = (id: string): StationId => id as StationId;
const minute = (i: number, airTempC: number): Reading => ({ ts: T0 + i * 60_000, airTempC });

let influx: TestInfluxd;
let restarted: ManagedInfluxd | null = null;
let spoolRoot: string;
let service: IngestService;
let metrics: Registry;
const received: { stationId: string; count: number }[] = [];

beforeAll(async () => {
  influx = await startTestInfluxd();
  spoolRoot = await mkdtemp(join(tmpdir(), 'frostwatch-ingest-'));
  metrics = new Registry();
  service = createIngestService({
    dir: join(spoolRoot, 'spool'),
    influx: influx.conn,
    logger: influx.logger,
    metrics,
    maxSpoolBytes: 10 * 1024 * 1024,
    clock,
    backoff: { minMs: 100, maxMs: 400 },
    batchLines: 2, // so the outage backlog drains over several writes and their order matters
  });
  service.onReceived((stationId, readings) => received.push({ stationId, count: readings.length }));
  await service.start();
});

afterAll(async () => {
  // Also runs when beforeAll failed part-way, before these were assigned.
  await (service as IngestService | undefined)?.close();
  await restarted?.stop();
  await (influx as TestInfluxd | undefined)?.stop();
  if (spoolRoot) await rm(spoolRoot, { recursive: true, force: true });
});

async function metric(name: string): Promise<number | undefined> {
  const json = await metrics.getMetricsAsJSON();
  return json.find((m) => m.name === name)?.values[0]?.value;
}

const stored = (id: string) => queryReadings(influx.conn, id, { fromMs: T0 - 1, toMs: T0 + 86_400_000 });

describe('ingest service', () => {
  it('stores accepted readings in InfluxDB and tells listeners on receipt, while the append is made durable', async () => {
    let settled = false;
    const accepted = service.acceptReadings(station('st-01'), [minute(0, 3), minute(1, 2.5), minute(2, 2)]).then(() => (settled = true));
    // The rule engine hears of the readings at once; the caller's acknowledgement still waits for the fdatasync.
    expect(received).toContainEqual({ stationId: 'st-01', count: 3 });
    expect(settled).toBe(false);
    await accepted;
    await expect.poll(async () => (await stored('st-01')).map((r) => r.airTempC), { timeout: 10_000 }).toEqual([3, 2.5, 2]);
    expect(await metric('frostwatch_readings_stored_total')).toBe(3);
    expect(service.health().influx.ok).toBe(true);
  });

  it('skips a line InfluxDB refuses without wedging the lines around it', async () => {
    // uptimeS stored as a string first: the service's integer uptimeS is then a field type conflict (HTTP 400).
    await influx.conn.writeLines([`status,station=conflict uptimeS="long" ${T0}`]);
    await Promise.all([
      service.acceptReadings(station('st-02'), [minute(0, 1)]),
      service.acceptStatus(station('conflict'), { online: true, uptimeS: 5 }),
      service.acceptReadings(station('st-02'), [minute(1, 0.5)]),
    ]);
    await expect.poll(async () => (await stored('st-02')).map((r) => r.airTempC), { timeout: 10_000 }).toEqual([1, 0.5]);
    await expect.poll(() => metric('frostwatch_influx_rejected_lines_total'), { timeout: 10_000 }).toBe(1);
  });

  it('keeps accepting while InfluxDB is down and delivers everything, in order, when it is back', async () => {
    const { dataDir } = influx;
    const port = influx.influxd.port;
    await influx.influxd.stop();

    // Accepted (durable in the spool) while nothing listens on the port.
    await service.acceptReadings(station('st-03'), [minute(0, 5)]);
    await service.acceptReadings(station('st-03'), [minute(1, 4), minute(2, 3)]);
    await service.acceptReadings(station('st-03'), [minute(3, 9)]); // wrong value…
    await service.acceptReadings(station('st-03'), [minute(4, 2)]);
    await service.acceptReadings(station('st-03'), [minute(3, 2.5)]); // …corrected later, same timestamp
    await expect.poll(() => service.health().influx.ok, { timeout: 10_000 }).toBe(false);
    expect(service.health().spool.ok).toBe(true);
    expect(await metric('frostwatch_spool_backlog_bytes')).toBeGreaterThan(0);
    expect(await metric('frostwatch_influx_up')).toBe(0);
    expect(await metric('frostwatch_influx_write_failures_total')).toBeGreaterThan(0);

    restarted = await startManagedInfluxd({ dataDir, port, logger: influx.logger, installIfMissing: false });
    await expect.poll(async () => (await stored('st-03')).map((r) => r.airTempC), { timeout: 20_000 }).toEqual([5, 4, 3, 2.5, 2]);
    await expect.poll(() => metric('frostwatch_spool_backlog_bytes'), { timeout: 10_000 }).toBe(0);
    expect(service.health().influx.ok).toBe(true);
    expect(await metric('frostwatch_influx_up')).toBe(1);
    // What was stored before the outage survived it.
    expect((await stored('st-01')).length).toBe(3);
  });

  it('refuses intake after close, and close is idempotent', async () => {
    await service.acceptReadings(station('st-04'), [minute(0, 1)]);
    await Promise.all([service.close(), service.close()]);
    await expect.poll(async () => (await stored('st-04')).length, { timeout: 5_000 }).toBe(1);
    await expect(service.acceptReadings(station('st-04'), [minute(1, 1)])).rejects.toThrow(/closed/);
    await service.close();
  });
});

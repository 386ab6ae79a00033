import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readingsTopic, type StationId } from '../../contracts/index.js';
import { type ManagedInfluxd, startManagedInfluxd } from '../../server/influx/managed-influxd.js';
import { closeClients, connectStation, eventually } from '../helpers/mqtt.js';
import { type SystemUnderTest, influxCli, registerStation, startSystem } from '../helpers/system-under-test.js';

const BATCH = 500;
const MAX_MESSAGES = 80;

interface Probe {
  status: number;
  body: { status?: string; ready?: boolean; failing?: string[]; checks: Record<string, { ok: boolean; detail?: string }> };
}

async function probe(url: string): Promise<Probe> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Probe['body'] };
}

/**
 * SPOOL_MAX_MB=1 and InfluxDB stopped, while a station backfills in 500-reading batches: the spool fills, PUBACKs
 * stop (the station keeps its readings) instead of anything being dropped, /health and /ready say the spool is
 * full; once InfluxDB is back every held publish is acknowledged and every reading is stored.
 */
describe('disk spool at its limit while InfluxDB is down', () => {
  let sut: SystemUnderTest;
  let station: MqttClient | undefined;
  let revived: ManagedInfluxd | undefined;

  beforeAll(async () => {
    sut = await startSystem({ SPOOL_MAX_MB: '1' });
  });
  afterAll(async () => {
    await closeClients(station);
    await revived?.stop();
    // Also runs when beforeAll failed part-way, before this was assigned.
    await (sut as SystemUnderTest | undefined)?.stop();
  });

  it('back-pressures the station instead of losing readings, then stores everything', { timeout: 120_000 }, async () => {
    expect(await probe(`${sut.httpUrl}/ready`)).toMatchObject({ status: 200, body: { ready: true, failing: [] } });
    const token = await registerStation(sut, 'ld-bp');
    station = await connectStation(sut.mqttUrl, 'ld-bp', token);
    const topic = readingsTopic('ld-bp' as StationId);
    const baseMs = Date.now() - 34 * 86_400_000; // one reading a minute, as stations sample
    const port = Number(new URL(sut.influx.url).port);
    await sut.influx.influxd.stop();
    let acked = 0;
    const pending: Array<Promise<unknown>> = [];
    let sent = 0;
    const publishBatch = (): void => {
      const batch = Array.from({ length: BATCH }, (_, i) => ({
        ts: baseMs + (sent * BATCH + i) * 60_000,
        airTempC: 5,
        seq: sent * BATCH + i,
      }));
      pending.push(station!.publishAsync(topic, JSON.stringify(batch), { qos: 1 }).then(() => acked++));
      sent++;
    };
    publishBatch();
    await pending[0];
    await eventually(
      async () =>
        expect((await probe(`${sut.httpUrl}/health`)).body).toMatchObject({ status: 'degraded', checks: { influx: { ok: false } } }),
      20_000,
    );
    // InfluxDB is not needed to accept readings: still ready.
    expect(await probe(`${sut.httpUrl}/ready`)).toMatchObject({ status: 200, body: { ready: true } });
    // Publish until PUBACKs stop coming: the window of 8 publishes stays unanswered for 3 s.
    while (sent < MAX_MESSAGES) {
      publishBatch();
      if (sent - acked >= 8) {
        const before = acked;
        await new Promise((r) => setTimeout(r, 3_000));
        if (acked === before) break;
      }
    }
    expect(sent).toBeLessThan(MAX_MESSAGES); // the limit was reached
    const heldAcked = acked;
    const health = await probe(`${sut.httpUrl}/health`);
    expect(health.status).toBe(503);
    expect(health.body.checks['spool']).toMatchObject({ ok: false, detail: expect.stringMatching(/^full/) as unknown });
    expect(await probe(`${sut.httpUrl}/ready`)).toMatchObject({ status: 503, body: { ready: false, failing: ['spool'] } });
    expect(acked).toBe(heldAcked); // nothing acknowledged while full

    revived = await startManagedInfluxd({ dataDir: sut.influx.dataDir, port, logger: pino({ level: 'silent' }), installIfMissing: false });
    await Promise.all(pending); // every held publish is acknowledged once there is room
    await eventually(async () => {
      const rows = await influxCli(sut.influx, `SELECT count("seq") FROM "readings" WHERE "station" = 'ld-bp'`);
      expect(rows[0]?.[1]).toBe(sent * BATCH);
    }, 60_000);
    await eventually(async () => expect(await probe(`${sut.httpUrl}/ready`)).toMatchObject({ status: 200, body: { ready: true } }), 30_000);
    console.info(
      `spool back-pressure: ${heldAcked} of ${sent} batches of ${BATCH} acknowledged before the 1 MB spool was full; all ${sent * BATCH} stored after InfluxDB returned`,
    );
  });
});

import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readingsTopic, type StationId } from '../../contracts/index.js';
import { closeClients, connectStation, eventually } from '../helpers/mqtt.js';
import { type SystemUnderTest, metricFrom, metricsText, readingsOf, registerStation, startSystem } from '../helpers/system-under-test.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * docs/protocol.md "Clock rules", "Backfill" and the `seq` field, against `frostwatch up`: a clock hours ahead is
 * refused (`clock_future`), hours behind is stored at its own time, more than 35 days behind is refused
 * (`clock_past`); a reading is identified by station + ts, so a resend is stored once and a repeated `seq` with
 * another ts is a different reading; order of arrival does not matter.
 */
describe('station clocks wrong by hours, repeated sequence numbers, readings out of order', () => {
  let sut: SystemUnderTest;
  let station: MqttClient | undefined;
  const topic = readingsTopic('ld-clock' as StationId);
  const send = (payload: unknown) => station!.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
  const rejected = async (reason: string) => metricFrom(await metricsText(sut), 'frostwatch_gateway_rejected_total', { reason });

  beforeAll(async () => {
    sut = await startSystem();
    station = await connectStation(sut.mqttUrl, 'ld-clock', await registerStation(sut, 'ld-clock'));
  });
  afterAll(async () => {
    await closeClients(station);
    // Also runs when beforeAll failed part-way, before this was assigned.
    await (sut as SystemUnderTest | undefined)?.stop();
  });

  it('a clock hours ahead is refused and counted; 4 minutes ahead is still accepted', async () => {
    const now = Date.now();
    await send({ ts: now + 3 * HOUR, airTempC: 1, seq: 1 }); // acknowledged (resending would not help) and dropped
    await send([
      { ts: now + 4 * 60_000, airTempC: 2, seq: 2 },
      { ts: now + 12 * HOUR, airTempC: 3, seq: 3 },
    ]);
    await eventually(async () => expect(await rejected('clock_future')).toBe(2));
    await eventually(async () => expect((await readingsOf(sut, 'ld-clock', now - HOUR, now + 13 * HOUR)).map((r) => r.seq)).toEqual([2]));
  });

  it('a clock hours behind is stored at its own time; beyond 35 days it is refused', async () => {
    const now = Date.now();
    await send({ ts: now - 5 * HOUR, airTempC: 4, seq: 10 });
    await send({ ts: new Date(now - 30 * DAY).toISOString(), airTempC: 5, seq: 11 });
    await send({ ts: now - 36 * DAY, airTempC: 6, seq: 12 });
    await eventually(async () => expect(await rejected('clock_past')).toBe(1));
    await eventually(async () => {
      expect((await readingsOf(sut, 'ld-clock', now - 5 * HOUR - 1, now - 5 * HOUR + 1)).map((r) => r.seq)).toEqual([10]);
      expect((await readingsOf(sut, 'ld-clock', now - 31 * DAY, now - 29 * DAY)).map((r) => r.seq)).toEqual([11]);
    });
    expect(await readingsOf(sut, 'ld-clock', now - 37 * DAY, now - 35 * DAY)).toEqual([]);
  });

  it('identity is station + ts: a resend is stored once, a repeated seq with another ts is another reading', async () => {
    const t = Date.now() - 8 * HOUR;
    await send({ ts: t, airTempC: 1.5, seq: 20 });
    await send({ ts: t, airTempC: 1.5, seq: 20 }); // lost PUBACK → resent
    await send({ ts: t + 60_000, airTempC: 1.2, seq: 20 }); // a firmware bug repeating seq
    await eventually(async () =>
      expect((await readingsOf(sut, 'ld-clock', t - 1, t + 120_000)).map((r) => [r.airTempC, r.seq])).toEqual([
        [1.5, 20],
        [1.2, 20],
      ]),
    );
  });

  it('readings out of order, within a batch and across messages, are all stored at their own times', async () => {
    const t = Date.now() - 12 * HOUR;
    const at = (i: number) => ({ ts: t + i * 60_000, airTempC: 10 - i / 10, seq: 100 + i });
    await send([at(5), at(1), at(3)]);
    await send(at(4));
    await send([at(0), at(2)]);
    await eventually(async () =>
      expect((await readingsOf(sut, 'ld-clock', t - 1, t + 10 * 60_000)).map((r) => r.seq)).toEqual([100, 101, 102, 103, 104, 105]),
    );
    expect(await rejected('bad_timestamp')).toBe(0);
  });
});

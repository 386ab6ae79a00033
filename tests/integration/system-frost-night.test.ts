import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, ReadingsResponse } from '../../contracts/index.js';
import { type FrostNightRun, PHONES, playPhones, prepareDistrict, runFrostNight, smsLevelsByPhone } from '../helpers/frost-night.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { eventually } from '../helpers/mqtt.js';
import { TwilioTestServer } from '../../testkit/twilio-server.js';

const START = '2026-12-20T15:00:00+07:00';

/**
 * Issue 3's whole chain on real components: `frostwatch up` with a simulated frost night (real Aedes, real
 * spool, real influxd), the rule engine, the outbox, and the real `twilio` package sending to the
 * Twilio-compatible test server, which calls back signed — status callbacks and the Severe call's keypress.
 */
describe('a simulated frost night warns the right phones, once each', () => {
  let twilio: TwilioTestServer;
  let influx: TestInfluxd;
  let dataDir: string;
  let night: FrostNightRun;

  beforeAll(async () => {
    twilio = await TwilioTestServer.start();
    influx = await startTestInfluxd({ database: 'frostwatch' });
    dataDir = await prepareDistrict();
    night = await runFrostNight(dataDir, twilio, influx.url, START);
  });
  afterAll(async () => {
    // Also runs when beforeAll failed part-way, before these were assigned.
    await (night as FrostNightRun | undefined)?.stop();
    await (twilio as TwilioTestServer | undefined)?.close();
    await (influx as TestInfluxd | undefined)?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('sends Watch, Warning, Severe with a call, and All clear to each farmer, nothing twice', { timeout: 300_000 }, async () => {
    const stopPhones = playPhones(twilio);
    try {
      await eventually(() => {
        const levels = smsLevelsByPhone(twilio);
        for (const phone of [PHONES.ha, PHONES.smith, PHONES.tu]) expect(levels.get(phone)?.at(-1)).toBe('all_clear');
      }, 240_000);
      // Tư never answers: after the acknowledgement timeout his household is called.
      await eventually(() => expect(twilio.created('call').map((c) => c.to)).toContain(PHONES.tuWife), 60_000);
    } finally {
      stopPhones();
    }

    const levels = smsLevelsByPhone(twilio);
    // Each farmer climbs the ladder in order and hears each rung once; the warm ridge (sim-02) may stop lower.
    for (const phone of [PHONES.ha, PHONES.tu]) expect(levels.get(phone)).toEqual(['watch', 'warning', 'severe', 'all_clear']);
    const smith = levels.get(PHONES.smith) ?? [];
    expect(smith.at(-1)).toBe('all_clear');
    expect(new Set(smith).size).toBe(smith.length);
    // English, without diacritics, as John asked.
    const smithTexts = twilio
      .created('message')
      .filter((r) => r.to === PHONES.smith)
      .map((r) => r.body ?? '');
    expect(smithTexts.every((t) => /^[\x20-\x7E\n]*$/.test(t))).toBe(true);
    // Nobody else got a frost SMS: not the contacts; the officer gets only officer notices.
    expect([...levels.keys()].sort()).toEqual([PHONES.ha, PHONES.smith, PHONES.tu].sort());

    // Severe: Hà was called once and confirmed, so his household was not woken.
    const calls = twilio.created('call').map((c) => c.to);
    expect(calls.filter((to) => to === PHONES.ha)).toHaveLength(1);
    expect(calls).toContain(PHONES.tu);
    expect(calls).not.toContain(PHONES.lan);

    // The alert history says why each step fired, and that Hà's keypress acknowledged it.
    const alerts = (await night.http.get('/api/alerts?stationId=sim-01')).body as Alert[];
    const frost = alerts.find((a) => a.kind === 'frost');
    expect(frost).toBeDefined();
    const detail = (await night.http.get(`/api/alerts/${frost!.id}`)).body as Alert & { deliveries: Array<{ phone: string }> };
    const transitions = detail.events!.map((e) => e.transition);
    expect(transitions).toEqual(
      expect.arrayContaining(['none→watch', 'watch→warning', 'warning→severe', 'severe→all_clear', 'acknowledged']),
    );
    for (const event of detail.events!.filter((e) => e.transition.includes('→'))) {
      expect(event.reason).toMatch(/\d/);
      expect(event.inputs).toMatchObject({ readingTs: expect.any(Number) as unknown });
    }
    expect(detail.events!.find((e) => e.transition === 'acknowledged')?.reason).toMatch(/voice \+8491•••5678/);
    expect(detail.deliveries.length).toBeGreaterThan(0);
    expect(detail.deliveries.every((d) => !d.phone.includes('345678'))).toBe(true); // masked
  });

  it('asked the stations for one-minute readings through the night and relaxed it by day', { timeout: 120_000 }, async () => {
    // The simulated devices obey the retained config the engine publishes: count what they actually sent.
    const count = async (fromIso: string, toIso: string) =>
      (
        (await night.http.get(`/api/stations/sim-01/readings?from=${encodeURIComponent(fromIso)}&to=${encodeURIComponent(toIso)}`))
          .body as ReadingsResponse
      ).readings.length;
    await eventually(async () => expect(await count('2026-12-21T10:35:00+07:00', '2026-12-21T11:00:00+07:00')).toBeGreaterThan(0), 90_000);
    const night1h = await count('2026-12-20T23:00:00+07:00', '2026-12-21T00:00:00+07:00');
    const day1h = await count('2026-12-21T09:30:00+07:00', '2026-12-21T10:30:00+07:00');
    expect(night1h).toBeGreaterThanOrEqual(55); // every 60 s
    expect(day1h).toBeLessThanOrEqual(15); // every 300 s
  });
});

import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { queryReadings } from '../../server/influx/readings-query.js';
import { type FrostNightRun, PHONES, playPhones, prepareDistrict, runFrostNight, smsLevelsByPhone } from '../helpers/frost-night.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { eventually } from '../helpers/mqtt.js';
import { TwilioTestServer } from '../../testkit/twilio-server.js';

const START = '2026-12-20T15:00:00+07:00';
const LADDER = ['watch', 'warning', 'severe', 'all_clear'];
/** Twilio's outage in real time: five minutes with FROSTWATCH_LONG_TESTS=1, one minute in CI. */
const TWILIO_OUTAGE_MS = process.env['FROSTWATCH_LONG_TESTS'] ? 300_000 : 60_000;

/** A frost night that goes wrong: the server killed mid-night, then Twilio failing. */
describe('a frost night with faults', () => {
  let twilio: TwilioTestServer | undefined;
  let influx: TestInfluxd | undefined;
  let dataDir: string | undefined;
  let night: FrostNightRun | undefined;

  afterEach(async () => {
    await night?.stop();
    await twilio?.close();
    await influx?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    night = twilio = influx = dataDir = undefined;
  });

  async function start(outageMs = 0): Promise<{ twilio: TwilioTestServer; influx: TestInfluxd; night: FrostNightRun }> {
    const server = await TwilioTestServer.start();
    twilio = server;
    if (outageMs > 0) server.failFor(outageMs, 500);
    const db = await startTestInfluxd({ database: 'frostwatch' });
    influx = db;
    dataDir = await prepareDistrict();
    const run = await runFrostNight(dataDir, server, db.url, START);
    night = run;
    return { twilio: server, influx: db, night: run };
  }

  it(
    'SIGKILL of the server after the Warning: after a restart no message is repeated and none is missed',
    { timeout: 360_000 },
    async () => {
      const { twilio, influx, night } = await start();
      const stopPhones = playPhones(twilio);
      try {
        await eventually(() => expect(smsLevelsByPhone(twilio).get(PHONES.ha)).toContain('warning'), 120_000);
        // Kill between two messages, not inside a request to Twilio (that residual window is documented).
        await eventually(() => expect(performance.now() - (twilio.requests.at(-1)?.atMs ?? 0)).toBeGreaterThan(1_500), 60_000);
        await night.fw.kill('SIGKILL');

        // The simulated clock resumes where the stations' last stored reading left it (InfluxDB outlives the server).
        const stored = await queryReadings(influx.conn, 'sim-01', { fromMs: Date.parse(START), toMs: Date.parse(START) + 86_400_000 });
        const lastMs = Date.parse(stored.at(-1)!.ts);
        await night.restart(new Date(lastMs + 60_000).toISOString());

        await eventually(() => {
          const levels = smsLevelsByPhone(twilio);
          for (const phone of [PHONES.ha, PHONES.tu]) expect(levels.get(phone)?.at(-1)).toBe('all_clear');
        }, 240_000);
      } finally {
        stopPhones();
      }
      const levels = smsLevelsByPhone(twilio);
      for (const phone of [PHONES.ha, PHONES.tu]) expect(levels.get(phone)).toEqual(LADDER);
      expect(twilio.created('call').filter((c) => c.to === PHONES.ha)).toHaveLength(1);
    },
  );

  it(
    `Twilio failing for ${TWILIO_OUTAGE_MS / 60_000} min: every warning is delivered afterwards, each once, in order`,
    { timeout: TWILIO_OUTAGE_MS + 360_000 },
    async () => {
      const outageEnds = performance.now() + TWILIO_OUTAGE_MS;
      const { twilio, night } = await start(TWILIO_OUTAGE_MS);
      const stopPhones = playPhones(twilio);
      try {
        await eventually(() => {
          const levels = smsLevelsByPhone(twilio);
          for (const phone of [PHONES.ha, PHONES.tu, PHONES.smith]) expect(levels.get(phone)?.at(-1)).toBe('all_clear');
        }, TWILIO_OUTAGE_MS + 300_000);
      } finally {
        stopPhones();
      }
      expect(twilio.requests.some((r) => r.answer === 500)).toBe(true);
      expect(twilio.created().every((r) => r.atMs >= outageEnds - 1_000)).toBe(true);
      const levels = smsLevelsByPhone(twilio);
      for (const phone of [PHONES.ha, PHONES.tu]) expect(levels.get(phone)).toEqual(LADDER);
      const smith = levels.get(PHONES.smith) ?? [];
      expect(smith).toEqual(LADDER.filter((l) => smith.includes(l)));
      expect(night.fw.output()).not.toMatch(/gave up/i);
    },
  );
});

/**
 * Issue 5, measurement 5: 1,000 stations (quick: 100) reconnect at once after a 12-hour outage, each with
 * 720 buffered one-minute readings sent as JSON arrays of ≤ 100, oldest first. Measured: time until InfluxDB
 * holds every reading. Checked: no farmer is warned about a past moment — the buffered night was frosty
 * (−1…−2 °C, Severe had it been live), yet the Twilio-compatible server must receive no request.
 *
 * The buffer ends 11 minutes before "now" (the rules treat a reading older than 10 minutes as late: recorded,
 * never notified); a buffer reaching up to now would rightly warn. Every station logged in once before the
 * outage, so the reconnect finds the login cache warm, as it would after a network cut.
 */
import { acceleratedClock, type Reading } from '../contracts/index.js';
import { TwilioTestServer } from '../testkit/twilio-server.js';
import type { Bench, BenchOptions, BenchRow } from './types.js';
import { runIfMain } from './support/entry.js';
import { addFarmers } from './support/people.js';
import { type BenchStation, connectAll, disconnectAll, publishReadings } from './support/stations.js';
import { countReadings, registerStations, sleep, startInProcess } from './support/system.js';

const NOW = Date.parse('2026-12-21T04:00:00+07:00');
const MINUTE = 60_000;
const BUFFERED = 720;
const BATCH = 100;
const TIMEOUT_MS = 10 * 60_000;

export const bench: Bench = {
  id: 'backfill-storm',
  title: 'Backfill storm: stations reconnect with 12 h of buffered readings',
  run: runBackfillStorm,
};

async function runBackfillStorm({ quick, progress }: BenchOptions): Promise<BenchRow[]> {
  const count = quick ? 100 : 1_000;
  const clock = acceleratedClock(NOW, 1);
  const twilio = await TwilioTestServer.start();
  const system = await startInProcess({
    clock,
    env: {
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: '+15005550006',
      TWILIO_API_URL: twilio.url,
      SMS_SEGMENTS_PER_S: '1000',
    },
  });
  let stations: BenchStation[] = [];
  try {
    progress(`registering ${count} stations`);
    const tokens = await registerStations(system.runtime.stations, 'bf', count);
    addFarmers(system.dataDir, [...tokens.keys()], clock);
    await disconnectAll(await connectAll(system.mqttUrl, tokens, 32)); // logged in once before the outage
    const expected = count * BUFFERED;
    const t0 = performance.now();
    stations = await connectAll(system.mqttUrl, tokens, count);
    const connectedS = (performance.now() - t0) / 1_000;
    const sending = Promise.all(stations.map((s, i) => sendBuffer(s, i, clock.now())));
    let stored = 0;
    while (stored < expected && performance.now() - t0 < TIMEOUT_MS) {
      await sleep(500);
      stored = await countReadings(system.influxUrl);
      progress(
        `${stored.toLocaleString()} / ${expected.toLocaleString()} readings stored after ${((performance.now() - t0) / 1_000).toFixed(1)} s`,
      );
    }
    const storedS = (performance.now() - t0) / 1_000;
    await sending;
    await sleep(3_000); // time for a (wrong) warning to reach the Twilio server
    const sms = twilio.requests.length;
    const control = await controlWarns(stations[0] as BenchStation, clock.now(), twilio);
    const note = `${count} stations × ${BUFFERED} readings in batches of ${BATCH}; ${stored.toLocaleString()}/${expected.toLocaleString()} stored; all reconnected in ${connectedS.toFixed(1)} s`;
    return [
      { group: 5, name: `all ${expected.toLocaleString()} readings stored`, value: Math.round(storedS * 10) / 10, unit: 's', note },
      { group: 5, name: 'backfill throughput', value: Math.round(stored / storedS), unit: 'readings/s' },
      {
        group: 5,
        name: 'Twilio requests for past frost (must be 0)',
        value: sms,
        unit: 'requests',
        goal: '0',
        note: sms === 0 ? 'no farmer warned about a past moment' : 'FAIL: a past moment was warned about',
      },
      {
        group: 5,
        name: 'control: the same frost sent live is warned',
        value: control ? 1 : 0,
        unit: 'yes=1',
        goal: '1',
        note: 'three live readings at −1.5 °C from one of the stations afterwards',
      },
    ];
  } finally {
    await disconnectAll(stations);
    await system.close();
    await twilio.close();
  }
}

/** The check above means something only if live frost does warn: three live frosty readings must bring an SMS. */
async function controlWarns(station: BenchStation, nowMs: number, twilio: TwilioTestServer): Promise<boolean> {
  for (const back of [2, 1, 0])
    await publishReadings(station, { ts: nowMs - back * MINUTE, airTempC: -1.5 - back / 10, rhPct: 95, windMs: 0.3 });
  const until = performance.now() + 10_000;
  while (performance.now() < until && twilio.created('message').length === 0) await sleep(100);
  return twilio.created('message').length > 0;
}

/** 720 frosty readings ending 11 minutes ago, oldest first, in arrays of ≤ 100 (each awaits its PUBACK). */
async function sendBuffer(station: BenchStation, i: number, nowMs: number): Promise<void> {
  const end = nowMs - 11 * MINUTE;
  const readings: Reading[] = Array.from({ length: BUFFERED }, (_, k) => ({
    ts: end - (BUFFERED - 1 - k) * MINUTE,
    airTempC: Math.round((-1 - k / BUFFERED - ((i + k) % 5) / 20) * 100) / 100,
    rhPct: 95,
    windMs: 0.3,
    seq: k,
  }));
  for (let k = 0; k < readings.length; k += BATCH) await publishReadings(station, readings.slice(k, k + BATCH));
}

await runIfMain(import.meta.url, bench);

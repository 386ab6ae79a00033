/**
 * Issue 5, measurement 3: from a station's publish of the reading that makes Severe fire to the SMS request
 * arriving at the Twilio-compatible server, under 2,000 readings/s of background load from other stations.
 * Goal p99 ≤ 100 ms.
 *
 * How: the clock is set to a December night (22:00 local, real speed). Each probe station has one farmer and
 * has already sent two readings at ≤ 0 °C ("air already ≤ 0 °C" is Severe, held for 3 readings), so its next
 * such reading is the one that crosses. Probes cross one at a time, spaced out, while background stations
 * send mild readings. SMS_SEGMENTS_PER_S is 1,000 so send pacing does not dominate.
 */
import { acceleratedClock } from '../contracts/index.js';
import { TwilioTestServer } from '../testkit/twilio-server.js';
import type { Bench, BenchOptions, BenchRow } from './types.js';
import { runIfMain } from './support/entry.js';
import { type BackgroundLoad, backgroundLoad } from './support/background-load.js';
import { type BenchStation, connectAll, disconnectAll, publishReadings } from './support/stations.js';
import { watchEventLoop } from './support/event-loop.js';
import { addFarmers } from './support/people.js';
import { percentile, registerStations, sleep, startInProcess } from './support/system.js';

const NIGHT_START = Date.parse('2026-12-20T22:00:00+07:00');
const SEVERE = /^(KHẨN CẤP|KHAN CAP|SEVERE FROST)/;
const MINUTE = 60_000;

export const bench: Bench = {
  id: 'alert-latency',
  title: 'Severe reading → SMS request at Twilio, under 2,000 readings/s',
  run: runAlertLatency,
};

async function runAlertLatency({ quick, progress }: BenchOptions): Promise<BenchRow[]> {
  const probes = quick ? 20 : 100;
  const background = quick ? 200 : 1_000;
  const ratePerStation = 2_000 / background;
  const clock = acceleratedClock(NIGHT_START, 1);
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
  let load: BackgroundLoad | null = null;
  try {
    progress('registering stations');
    const t0 = performance.now();
    const probeTokens = await registerStations(system.runtime.stations, 'probe', probes);
    const bgTokens = await registerStations(system.runtime.stations, 'bg', background);
    const registerS = (performance.now() - t0) / 1_000;
    const phones = addFarmers(system.dataDir, [...probeTokens.keys()], clock);
    progress('connecting stations');
    const probeStations = await connectAll(system.mqttUrl, probeTokens, 16);
    stations = probeStations;
    // The background stations publish from a process of their own, as real stations do from their own hardware.
    load = await backgroundLoad(
      { url: system.mqttUrl, tokens: [...bgTokens.entries()], perS: ratePerStation, clockMs: clock.now(), wallMs: Date.now() },
      (n) => progress(`connected ${n}/${background}`),
    );

    // When the engine committed each probe's Severe: splits the latency into "to the engine" and "engine to Twilio".
    const severeAt = new Map<string, number>();
    system.runtime.warnings.engine.onStationChanged((id, state) => {
      if (state.level === 'severe' && !severeAt.has(id)) severeAt.set(id, performance.now());
    });
    // Three readings ten minutes apart at 2.0, 1.8, 1.6 °C: Warning (its SMS is not counted), not Severe. The crossing
    // at −0.4 °C then makes it Severe at once (checked against the engine: frost/ of issue 12). Before issue 12 the
    // probes sent two frosty readings first; the new minimum model already calls those Severe (20 of 20 early).
    const now = clock.now();
    for (const s of probeStations)
      for (const [ago, airTempC] of [
        [30, 2.0],
        [20, 1.8],
        [10, 1.6],
      ] as const)
        await publishReadings(s, { ts: now - ago * MINUTE, airTempC, rhPct: 95, windMs: 0.3 });
    await sleep(1_000);
    const early = twilio.created('message').filter((r) => SEVERE.test(r.body ?? '')).length;

    // A few probes cross with no load at all: the floor the loaded figure is compared with.
    const idleCount = Math.max(3, Math.round(probes / 10));
    const idleProbes = probeStations.slice(0, idleCount);
    const loadProbes = probeStations.slice(idleCount);
    const idleSent = await cross(idleProbes, phones, () => clock.now(), 300);
    await waitForSevere(twilio, idleCount, 10_000);
    const idle = latenciesOf(twilio, idleSent);

    load.start();
    await sleep(2_000); // let the load settle
    const loop = watchEventLoop();
    const sentAt = await cross(
      loadProbes,
      phones,
      () => clock.now(),
      quick ? 250 : 400,
      (n) => progress(`probes ${n}/${loadProbes.length}`),
    );
    const stalls = loop.stop();
    // Stop the load, then give stragglers up to 15 s to reach the Twilio server.
    const bg = await load.stop();
    load = null;
    const loadPerS = bg.sent / bg.elapsedS;
    await waitForSevere(twilio, probes, 15_000);
    const latencies = latenciesOf(twilio, sentAt);
    const p99 = percentile(latencies, 99);
    const toEngine = stage(loadProbes, phones, sentAt, severeAt, (sent, engine) => engine - sent);
    const engineToSms = stage(loadProbes, phones, sentAt, severeAt, (sent, engine, sms) => sms - engine, twilio);
    const note = `${latencies.length}/${loadProbes.length} loaded probes warned (${early} before the crossing); background ${loadPerS.toFixed(0)} readings/s from ${background} stations; SMS_SEGMENTS_PER_S=1000`;
    return [
      { group: 3, name: 'severe → SMS p50', value: round1(percentile(latencies, 50)), unit: 'ms', note },
      { group: 3, name: 'severe → SMS p99', value: round1(p99), unit: 'ms', goal: '≤ 100 ms', ratio: round2(p99 / 100) },
      { group: 3, name: `severe → SMS p50, no load (${idle.length}/${idleCount} probes)`, value: round1(percentile(idle, 50)), unit: 'ms' },
      { group: 3, name: 'under load: publish → engine committed Severe, p50', value: round1(percentile(toEngine, 50)), unit: 'ms' },
      { group: 3, name: 'under load: engine committed → SMS at Twilio, p50', value: round1(percentile(engineToSms, 50)), unit: 'ms' },
      {
        group: 3,
        name: 'background load achieved',
        value: Math.round(loadPerS),
        unit: 'readings/s',
        goal: '2,000 readings/s',
        ratio: round2(loadPerS / 2_000),
        note: 'published from a separate process',
      },
      {
        group: 3,
        name: 'under load: event-loop delay, p99',
        value: round1(stalls.delayP99Ms),
        unit: 'ms',
        note: `max ${round1(stalls.delayMaxMs)} ms (the system's thread, while the probes crossed)`,
      },
      {
        group: 3,
        name: 'under load: GC pauses, longest',
        value: round1(stalls.gcMaxMs),
        unit: 'ms',
        note: `${stalls.gcMaxKind}; ${stalls.gcCount} pauses, ${round1(stalls.gcTotalMs)} ms in all`,
      },
      { group: 3, name: `register ${probes + background} stations (setup)`, value: round1(registerS), unit: 's' },
    ];
  } finally {
    load?.kill();
    await disconnectAll(stations);
    await system.close();
    await twilio.close();
  }
}

/** Send each probe its crossing reading, `gapMs` apart; returns farmer phone → performance.now() at publish. */
async function cross(
  probes: BenchStation[],
  phones: Map<string, string>,
  now: () => number,
  gapMs: number,
  onEach?: (n: number) => void,
): Promise<Map<string, number>> {
  const sentAt = new Map<string, number>();
  for (const s of probes) {
    sentAt.set(phones.get(s.id) as string, performance.now());
    void publishReadings(s, { ts: now(), airTempC: -0.4, rhPct: 95, windMs: 0.3 });
    await sleep(gapMs);
    onEach?.(sentAt.size);
  }
  return sentAt;
}

/** Publish → arrival at the Twilio server of each probe's Severe SMS, sorted. */
function latenciesOf(twilio: TwilioTestServer, sentAt: Map<string, number>): number[] {
  const out: number[] = [];
  for (const r of twilio.created('message')) {
    const start = r.to === undefined ? undefined : sentAt.get(r.to);
    if (start !== undefined && SEVERE.test(r.body ?? '')) out.push(r.atMs - start);
  }
  return out.sort((a, b) => a - b);
}

/** One stage of the loaded probes' latency, sorted; probes missing a timestamp are left out. */
function stage(
  probes: BenchStation[],
  phones: Map<string, string>,
  sentAt: Map<string, number>,
  severeAt: Map<string, number>,
  span: (sent: number, engine: number, sms: number) => number,
  twilio?: TwilioTestServer,
): number[] {
  const smsAt = new Map<string, number>();
  for (const r of twilio?.created('message') ?? []) if (r.to !== undefined && SEVERE.test(r.body ?? '')) smsAt.set(r.to, r.atMs);
  const out: number[] = [];
  for (const s of probes) {
    const phone = phones.get(s.id) as string;
    const sent = sentAt.get(phone);
    const engine = severeAt.get(s.id);
    const sms = twilio ? smsAt.get(phone) : 0;
    if (sent !== undefined && engine !== undefined && sms !== undefined) out.push(span(sent, engine, sms));
  }
  return out.sort((a, b) => a - b);
}

async function waitForSevere(twilio: TwilioTestServer, count: number, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until && twilio.created('message').filter((r) => SEVERE.test(r.body ?? '')).length < count) await sleep(100);
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
const round2 = (x: number): number => Math.round(x * 100) / 100;

await runIfMain(import.meta.url, bench);

import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../contracts/index.js';
import { PHONES, prepareDistrict, smsLevelsByPhone } from '../helpers/frost-night.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { eventually } from '../helpers/mqtt.js';
import { type Api, type FrostwatchProcess, api, freePorts, runFrostwatch, waitForHttp } from '../helpers/system.js';
import { ADMIN_TOKEN } from '../helpers/system-under-test.js';
import { TwilioTestServer } from '../helpers/twilio-server.js';

const SPEED = 600; // a 17-hour evening and night in under two minutes
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
  let fw: FrostwatchProcess;
  let http: Api;

  beforeAll(async () => {
    twilio = await TwilioTestServer.start();
    influx = await startTestInfluxd({ database: 'frostwatch' });
    dataDir = await prepareDistrict();
    const ports = await freePorts();
    const baseUrl = `http://127.0.0.1:${ports.http}`;
    fw = runFrostwatch(['up', '--sim', '3', '--scenario', 'frost-night', '--speed', String(SPEED), '--start', START], {
      DATA_DIR: dataDir,
      HTTP_PORT: String(ports.http),
      MQTT_PORT: String(ports.mqtt),
      MQTT_WS_PORT: String(ports.ws),
      INFLUX_URL: influx.url,
      ADMIN_TOKEN,
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: '+15005550006',
      TWILIO_API_URL: twilio.url,
      PUBLIC_URL: baseUrl,
    });
    await waitForHttp(baseUrl, fw);
    http = api(baseUrl, ADMIN_TOKEN);
  });
  afterAll(async () => {
    await fw?.kill('SIGTERM');
    await twilio?.close();
    await influx?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('sends Watch, Warning, Severe with a call, and All clear to each farmer, nothing twice', { timeout: 300_000 }, async () => {
    // Play the phones: whenever a Severe call comes in, Hà presses 1; Tư and his household never answer.
    const answered = new Set<string>();
    const pickUp = setInterval(() => {
      for (const call of twilio.created('call')) {
        if (call.sid === undefined || answered.has(call.sid)) continue;
        answered.add(call.sid);
        void (call.to === PHONES.ha ? twilio.answerCall(call.sid, '1') : twilio.callStatus(call.sid, 'no-answer'));
      }
    }, 200);
    try {
      await eventually(() => {
        const levels = smsLevelsByPhone(twilio);
        for (const phone of [PHONES.ha, PHONES.smith, PHONES.tu]) expect(levels.get(phone)?.at(-1)).toBe('all_clear');
      }, 240_000);
    } finally {
      clearInterval(pickUp);
    }

    const levels = smsLevelsByPhone(twilio);
    // Each farmer climbs the ladder in order and hears each rung once; the warm ridge (sim-02) may stop lower.
    for (const phone of [PHONES.ha, PHONES.tu]) expect(levels.get(phone)).toEqual(['watch', 'warning', 'severe', 'all_clear']);
    const smith = levels.get(PHONES.smith) ?? [];
    expect(smith.at(-1)).toBe('all_clear');
    expect(new Set(smith).size).toBe(smith.length);
    // English, without diacritics, as John asked.
    const smithTexts = twilio.created('message').filter((r) => r.to === PHONES.smith).map((r) => r.body ?? '');
    expect(smithTexts.every((t) => /^[\x20-\x7E\n]*$/.test(t))).toBe(true);
    // Nobody else got a frost SMS: not the contacts, and the officer only officer notices.
    expect([...levels.keys()].sort()).toEqual([PHONES.ha, PHONES.smith, PHONES.tu].sort());

    // Severe: Hà was called and confirmed; Tư did not answer, so his household was called next.
    const calls = twilio.created('call').map((c) => c.to);
    expect(calls.filter((to) => to === PHONES.ha)).toHaveLength(1);
    expect(calls).toContain(PHONES.tu);
    await eventually(() => expect(twilio.created('call').map((c) => c.to)).toContain(PHONES.tuWife), 60_000);
    expect(calls).not.toContain(PHONES.lan); // Hà answered: no need to wake his household

    // The alert history says why each step fired, and that Hà's keypress acknowledged it.
    const alerts = (await http.get<Alert[]>('/api/alerts?stationId=sim-01')).body;
    const frost = alerts.find((a) => a.kind === 'frost');
    expect(frost).toBeDefined();
    const detail = (await http.get<Alert & { deliveries: Array<{ phone: string; channel: string; status: string }> }>(`/api/alerts/${frost!.id}`)).body;
    const transitions = detail.events!.map((e) => e.transition);
    expect(transitions).toEqual(expect.arrayContaining(['none→watch', 'watch→warning', 'warning→severe', 'severe→all_clear', 'acknowledged']));
    for (const event of detail.events!.filter((e) => e.transition.includes('→'))) {
      expect(event.reason).toMatch(/\d/);
      expect(event.inputs).toMatchObject({ readingTs: expect.any(Number) });
    }
    expect(detail.events!.find((e) => e.transition === 'acknowledged')?.reason).toMatch(/voice \+8491•••5678/);
    expect(detail.deliveries.every((d) => !d.phone.includes('345678'))).toBe(true); // masked
  });
});

import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeasonScoreSchema, SurveySchema } from '../../contracts/index.js';
import { PHONES, levelOf, prepareDistrict } from '../helpers/frost-night.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { eventually } from '../helpers/mqtt.js';
import { type Api, type FrostwatchProcess, api, freePorts, runFrostwatch, waitForHttp } from '../helpers/system.js';
import { ADMIN_TOKEN } from '../helpers/system-under-test.js';
import { TwilioTestServer } from '../../testkit/twilio-server.js';

/** 14:40: the afternoon's pre-alert window opens twenty simulated minutes in. */
const START = '2026-12-20T14:40:00+07:00';
const SPEED = 600;

/**
 * Issue 16's "done when", without a browser (tests/e2e/season.test.ts has the pages): `frostwatch up` with the
 * simulator on a clear, calm frost night and the local forecast stand-in (`--forecast-sim frosty`), warning through
 * the Twilio-compatible server with the real `twilio` package. Every farmer gets the afternoon pre-alert first, then
 * the night's ladder; the officer gets the commune summary; the morning after, the survey call records a farmer's
 * keypress, an officer records the commune, and the season score shows the hit with its lead times.
 */
describe('the day before, the night, and the morning after', () => {
  let twilio: TwilioTestServer;
  let influx: TestInfluxd;
  let dataDir: string;
  let fw: FrostwatchProcess | undefined;
  let http: Api;

  beforeAll(async () => {
    twilio = await TwilioTestServer.start();
    influx = await startTestInfluxd({ database: 'frostwatch' });
    dataDir = await prepareDistrict();
    const ports = await freePorts();
    const baseUrl = `http://127.0.0.1:${ports.http}`;
    fw = runFrostwatch(
      ['up', '--sim', '3', '--scenario', 'frost-night', '--speed', String(SPEED), '--start', START, '--forecast-sim', 'frosty'],
      {
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
        QUIET_HOURS: '21:00-06:00',
        SURVEY_CALLS: 'severe',
        // The night runs 600 times faster than Twilio's real-time pacing: at a long code's 1 segment/s the afternoon's
        // nine UCS-2 SMS would take two simulated hours and the last pre-alert would miss 17:00.
        SMS_SEGMENTS_PER_S: '20',
      },
    );
    await waitForHttp(baseUrl, fw);
    http = api(baseUrl, ADMIN_TOKEN);
  });
  afterAll(async () => {
    await fw?.kill('SIGTERM');
    await (twilio as TwilioTestServer | undefined)?.close();
    await (influx as TestInfluxd | undefined)?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('pre-alert, then the ladder, then a survey by keypress and the season score', { timeout: 360_000 }, async () => {
    // The phones: Hà presses 1 on his Severe call and 3 (young trees lost) on the morning survey call; nobody else answers.
    const answered = new Set<string>();
    const phones = setInterval(() => {
      for (const call of twilio.created('call')) {
        if (call.sid === undefined || answered.has(call.sid)) continue;
        answered.add(call.sid);
        const play =
          call.to === PHONES.ha
            ? twilio.answerCall(call.sid, (twiml) => (twiml.includes('/survey"') ? '3' : '1'))
            : twilio.callStatus(call.sid, 'no-answer');
        void play.catch(() => answered.delete(call.sid!));
      }
    }, 200);
    try {
      await eventually(async () => {
        // The night is over for every farmer (sim-02 on its ridge may clear later than sim-01)…
        for (const phone of [PHONES.ha, PHONES.smith, PHONES.tu])
          expect(
            levelOf(
              twilio
                .created('message')
                .filter((m) => m.to === phone)
                .at(-1)?.body,
            ),
          ).toBe('all_clear');
        // …and Hà has answered the morning call.
        const surveys = SurveySchema.array().parse((await http.get('/api/surveys?from=2026-12-20&to=2026-12-20')).body);
        expect(surveys.map((s) => [s.source, s.damage, s.farmerId !== null])).toContainEqual(['keypress', 'young_trees_lost', true]);
      }, 300_000);
    } finally {
      clearInterval(phones);
    }

    // Every farmer: the pre-alert first, then the ladder climbing; each once.
    const texts = (phone: string) =>
      twilio
        .created('message')
        .filter((m) => m.to === phone)
        .map((m) => m.body ?? '');
    for (const phone of [PHONES.ha, PHONES.tu, PHONES.smith]) {
      const bodies = texts(phone);
      expect(bodies[0], `${phone}: ${bodies.join(' | ')}`).toMatch(
        /^frostwatch: (Đêm nay và đêm mai|Frost possible tonight and tomorrow night)/,
      );
      expect(bodies.filter((b) => b.startsWith('frostwatch: Đêm') || b.startsWith('frostwatch: Frost possible'))).toHaveLength(1);
      const ladder = bodies.slice(1).map(levelOf);
      expect(ladder[0]).toBe('watch');
      expect(ladder.at(-1)).toBe('all_clear');
      expect(new Set(ladder).size).toBe(ladder.length);
    }
    for (const phone of [PHONES.ha, PHONES.tu])
      expect(texts(phone).slice(1).map(levelOf)).toEqual(['watch', 'warning', 'severe', 'all_clear']);
    // Every farmer message ends with how to stop.
    for (const phone of [PHONES.ha, PHONES.tu]) for (const body of texts(phone)) expect(body).toMatch(/Ngừng: báo cán bộ xã\.$/);
    // The officer: the commune summary of the afternoon.
    expect(texts(PHONES.officer).some((b) => b.startsWith('frostwatch: báo trước sương muối đã gửi 3 nông dân.'))).toBe(true);

    // The morning after: an officer records the commune on the phone page's API; the score shows the hit.
    const recorded = await http.post('/api/surveys', {
      night: '2026-12-20',
      commune: 'Lát',
      damage: 'leaf_burn',
      note: 'cháy lá ở vườn thấp',
    });
    expect(recorded.status).toBe(201);
    const score = SeasonScoreSchema.parse((await http.get('/api/reports/score?from=2026-12-20&to=2026-12-20')).body);
    const lat = score.communes.find((c) => c.commune === 'Lát');
    expect(lat).toMatchObject({ hits: 1, misses: 0, falseAlarms: 0, prealertHits: 1, surveyed: 1 });
    expect(lat!.medianLeadTimeH).toBeGreaterThan(0);
    // The pre-alert went out in the afternoon, more than half a day before the coldest moment.
    expect(lat!.medianPrealertLeadTimeH).toBeGreaterThan(12);
    expect(score.nights[0]).toMatchObject({
      night: '2026-12-20',
      commune: 'Lát',
      frost: true,
      frostBy: 'survey',
      damage: 'young_trees_lost',
    });
  });
});

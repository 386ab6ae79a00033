import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { queryReadings } from '../../server/influx/readings-query.js';
import { type FrostNightRun, PHONES, levelOf, prepareDistrict, runFrostNight, smsLevelsByPhone } from '../helpers/frost-night.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { eventually } from '../helpers/mqtt.js';
import { type RecordedRequest, TwilioTestServer } from '../../testkit/twilio-server.js';

const START = '2026-12-20T15:30:00+07:00';

/**
 * Issue 17, "no duplicate after a crash mid-send": `frostwatch up` is SIGKILLed inside its request to Twilio — after
 * Twilio created Hà's Watch, before the answer came back — which is the one window the outbox's commit-before-send
 * could not close. The next start finds the row it left in `sending`, asks Twilio's Messages list, recognises the
 * message, records it as sent, and the night goes on: Hà gets the Watch once.
 */
describe('SIGKILL inside a request to Twilio', () => {
  let twilio: TwilioTestServer | undefined;
  let influx: TestInfluxd | undefined;
  let dataDir: string | undefined;
  let night: FrostNightRun | undefined;

  afterAll(async () => {
    await night?.stop();
    await twilio?.close();
    await influx?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('the restarted server finds the message in Twilio’s list and does not send it again', { timeout: 300_000 }, async () => {
    twilio = await TwilioTestServer.start();
    influx = await startTestInfluxd({ database: 'frostwatch' });
    dataDir = await prepareDistrict();
    const server = twilio;
    let killedIn: RecordedRequest | undefined;
    server.onAccept = async (request) => {
      if (killedIn !== undefined || request.kind !== 'message' || request.to !== PHONES.ha) return;
      killedIn = request;
      await night!.fw.kill('SIGKILL'); // Twilio has created it; the answer goes to a process that is gone
    };
    night = await runFrostNight(dataDir, server, influx.url, START);
    await eventually(() => expect(killedIn).toBeDefined(), 120_000);
    await night.fw.exited;
    server.onAccept = null;
    expect(levelOf(killedIn!.body)).toBe('watch');

    // The simulated clock resumes where the stations' last stored reading left it.
    const stored = await queryReadings(influx.conn, 'sim-01', { fromMs: Date.parse(START), toMs: Date.parse(START) + 86_400_000 });
    await night.restart(new Date(Date.parse(stored.at(-1)!.ts) + 60_000).toISOString());

    // The night goes on past the Watch: Hà's Warning arrives…
    await eventually(() => expect(smsLevelsByPhone(server).get(PHONES.ha)).toContain('warning'), 180_000);
    // …and the Watch that was in flight at the kill reached Twilio once, found by a lookup rather than sent again.
    const watches = server.created('message').filter((m) => m.to === PHONES.ha && m.body === killedIn!.body);
    expect(watches).toHaveLength(1);
    expect(server.lists.some((l) => l.kind === 'message' && l.query['To'] === PHONES.ha)).toBe(true);
    expect(smsLevelsByPhone(server).get(PHONES.ha)?.slice(0, 2)).toEqual(['watch', 'warning']);
    expect(night.fw.output()).toMatch(/already had this message/);
  });
});

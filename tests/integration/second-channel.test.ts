import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, type Health } from '../../contracts/index.js';
import { type SecondChannel, createSecondChannel } from '../../server/ops/second-channel.js';
import { metricValue } from '../helpers/mqtt.js';
import { TestHeartbeatReceiver, TestSmtpServer } from '../../testkit/ops-receivers.js';

const MINUTE = 60_000;
const logger = pino({ level: 'silent' });

/**
 * The second channel against a real SMTP server (smtp-server, with AUTH) and a healthchecks-compatible receiver; the
 * health checks are played by hand and the clock is stepped, so five minutes of outage take no time.
 * tests/integration/system-second-channel.test.ts has the same with `frostwatch up` and a real InfluxDB stopped.
 */
describe('the second channel: e-mail and heartbeat for the chain’s own failures', () => {
  let smtp: TestSmtpServer | undefined;
  let beat: TestHeartbeatReceiver | undefined;
  let channel: SecondChannel | null = null;
  afterEach(async () => {
    await channel?.close();
    await smtp?.close();
    await beat?.close();
    channel = null;
    smtp = beat = undefined;
  });

  async function setUp(): Promise<{
    smtp: TestSmtpServer;
    beat: TestHeartbeatReceiver;
    channel: SecondChannel;
    clock: { t: number };
    checks: Health['checks'];
    metrics: Registry;
    throwing: { on: boolean };
  }> {
    smtp = await TestSmtpServer.start();
    beat = await TestHeartbeatReceiver.start();
    const clock = { t: Date.parse('2026-12-20T02:00:00+07:00') };
    const checks: Health['checks'] = { twilio: { ok: true }, sqlite: { ok: true }, influx: { ok: true }, broker: { ok: true } };
    const throwing = { on: false };
    const metrics = new Registry();
    channel = createSecondChannel({
      settings: { SMTP_URL: smtp.url, SMTP_TO: 'canbo@laclong.gov.vn, kysu@example.org', HEARTBEAT_URL: beat.url },
      health: () => (throwing.on ? Promise.reject(new Error('SQLITE_IOERR: disk I/O error')) : Promise.resolve({ status: 'ok', checks })),
      clock: { now: () => clock.t, speed: 1 },
      logger,
      metrics,
      site: 'Lạc Dương',
    });
    return { smtp, beat, channel: channel!, clock, checks, metrics, throwing };
  }

  it('Twilio failing five minutes: one e-mail to every address (Vietnamese first), /fail pinged; back: one all-clear, pings resume', async () => {
    const { smtp, beat, channel, clock, checks, metrics } = await setUp();
    await channel.check();
    expect(beat.pings.map((p) => p.kind)).toEqual(['ok']);

    checks['twilio'] = { ok: false, detail: 'a message retrying for 6 min: HTTP 500' };
    for (let m = 0; m < 4; m += 1) {
      clock.t += MINUTE;
      await channel.check();
    }
    expect(smtp.mails).toHaveLength(0); // not before five minutes
    clock.t += 2 * MINUTE;
    await channel.check();
    clock.t += MINUTE;
    await channel.check(); // still failing: no second e-mail
    expect(smtp.mails).toHaveLength(1);
    const [mail] = smtp.mails;
    expect(mail!.to).toEqual(['canbo@laclong.gov.vn', 'kysu@example.org']);
    expect(mail!.user).toBe('frostwatch');
    expect(mail!.subject).toMatch(/^\[frostwatch Lạc Dương\] LỖI: Twilio \(SMS và cuộc gọi\) không hoạt động \d+ phút \/ Twilio/);
    expect(mail!.text).toMatch(/hãy gọi điện cho họ/);
    expect(mail!.text).toMatch(/phone them if frost is expected tonight/);
    expect(mail!.text).toContain('HTTP 500');
    expect(channel.failing()).toEqual(['twilio']);
    const fails = beat.pings.filter((p) => p.kind === 'fail');
    expect(fails).toHaveLength(1); // at once on the change, then paced (once a minute of real time)
    expect(fails[0]).toMatchObject({ method: 'POST', body: expect.stringContaining('Twilio (SMS and calls)') as unknown });

    checks['twilio'] = { ok: true };
    clock.t += MINUTE;
    await channel.check();
    expect(smtp.mails.map((m) => m.subject)).toEqual([mail!.subject, expect.stringMatching(/Đã khắc phục: Twilio .* is back$/) as unknown]);
    expect(beat.pings.at(-1)?.kind).toBe('ok');
    expect(await metricValue(metrics, 'frostwatch_second_channel_emails_total', { result: 'sent' })).toBe(2);
  });

  it('a failure shorter than five minutes tells nobody', async () => {
    const { smtp, beat, channel, clock, checks } = await setUp();
    checks['influx'] = { ok: false, detail: 'connect ECONNREFUSED' };
    await channel.check();
    clock.t += 4 * MINUTE;
    await channel.check();
    checks['influx'] = { ok: true };
    clock.t += MINUTE;
    await channel.check();
    expect(smtp.mails).toHaveLength(0);
    expect(beat.pings.every((p) => p.kind === 'ok')).toBe(true);
  });

  it('SQLite throwing is itself the failure reported — the SMS notices could not report it', async () => {
    const { smtp, channel, clock, throwing } = await setUp();
    throwing.on = true;
    await channel.check();
    clock.t += 6 * MINUTE;
    await channel.check();
    expect(smtp.mails.map((m) => m.subject)).toEqual([expect.stringContaining('cơ sở dữ liệu SQLite') as unknown]);
    expect(smtp.mails[0]!.text).toContain('SQLITE_IOERR');
  });

  it('the mail server refusing: the e-mail is kept and sent once it accepts again', async () => {
    const { smtp, channel, clock, checks, metrics } = await setUp();
    smtp.refusing = true;
    checks['broker'] = { ok: false, detail: 'not listening' };
    await channel.check();
    clock.t += 6 * MINUTE;
    await channel.check();
    expect(smtp.mails).toHaveLength(0);
    expect(await metricValue(metrics, 'frostwatch_second_channel_emails_total', { result: 'failed' })).toBe(1);
    smtp.refusing = false;
    clock.t += MINUTE;
    await channel.check();
    expect(smtp.mails.map((m) => m.subject)).toEqual([expect.stringContaining('MQTT broker') as unknown]);
  });

  it('configuration: nothing set → off; SMTP_URL without SMTP_TO → a clear error; wrong SMTP password → logged, no crash', async () => {
    expect(
      createSecondChannel({
        settings: {},
        health: () => Promise.reject(new Error('unused')),
        clock: { now: Date.now, speed: 1 },
        logger,
        metrics: new Registry(),
      }),
    ).toBeNull();
    expect(() =>
      createSecondChannel({
        settings: { SMTP_URL: 'smtp://u:p@127.0.0.1:2525' },
        health: () => Promise.reject(new Error('unused')),
        clock: { now: Date.now, speed: 1 },
        logger,
        metrics: new Registry(),
      }),
    ).toThrow(ConfigError);

    smtp = await TestSmtpServer.start();
    const metrics = new Registry();
    let t = 0;
    channel = createSecondChannel({
      settings: { SMTP_URL: smtp.url.replace('mail-secret-123', 'wrong-password'), SMTP_TO: 'canbo@laclong.gov.vn' },
      health: () => Promise.resolve({ status: 'down', checks: { sqlite: { ok: false } } }),
      clock: { now: () => t, speed: 1 },
      logger,
      metrics,
    });
    await channel!.check();
    t += 6 * MINUTE;
    await channel!.check();
    expect(smtp.mails).toHaveLength(0);
    expect(await metricValue(metrics, 'frostwatch_second_channel_emails_total', { result: 'failed' })).toBe(1);
  });
});

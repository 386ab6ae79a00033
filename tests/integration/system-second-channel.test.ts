import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { eventually } from '../helpers/mqtt.js';
import { type FrostwatchProcess, api, freePorts, portsEnv, runFrostwatch, waitForHttp } from '../helpers/system.js';
import { ADMIN_TOKEN } from '../helpers/system-under-test.js';
import { TestHeartbeatReceiver, TestSmtpServer } from '../../testkit/ops-receivers.js';

/**
 * Issue 17, "a second channel", end to end: `frostwatch up` with a simulated fleet, SMTP_URL/SMTP_TO pointing at a real
 * SMTP server and HEARTBEAT_URL at a healthchecks-compatible receiver. While all is well the heartbeat is pinged; then
 * the InfluxDB it writes to is stopped for real, and five (simulated) minutes later the officers get an e-mail and the
 * heartbeat turns to /fail — neither through Twilio nor through SQLite.
 */
describe('frostwatch up: the chain’s own failure reaches the officers by e-mail and the heartbeat', () => {
  let influx: TestInfluxd | undefined;
  let smtp: TestSmtpServer | undefined;
  let beat: TestHeartbeatReceiver | undefined;
  let fw: FrostwatchProcess | undefined;
  let dataDir: string | undefined;

  afterAll(async () => {
    await fw?.kill('SIGTERM');
    await influx?.stop();
    await smtp?.close();
    await beat?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('InfluxDB stopped: an e-mail names it and the heartbeat pings /fail', { timeout: 180_000 }, async () => {
    influx = await startTestInfluxd({ database: 'frostwatch' });
    smtp = await TestSmtpServer.start();
    beat = await TestHeartbeatReceiver.start();
    dataDir = await mkdtemp(join(tmpdir(), 'frostwatch-second-channel-'));
    const ports = await freePorts();
    const baseUrl = `http://127.0.0.1:${ports.http}`;
    fw = runFrostwatch(['up', '--sim', '2', '--speed', '600', '--start', '2026-12-20T16:00:00+07:00'], {
      DATA_DIR: dataDir,
      ...portsEnv(ports),
      INFLUX_URL: influx.url,
      ADMIN_TOKEN,
      SMTP_URL: smtp.url,
      SMTP_TO: 'canbo@laclong.gov.vn',
      SMTP_FROM: 'frostwatch@laclong.gov.vn',
      HEARTBEAT_URL: beat.url,
    });
    await waitForHttp(baseUrl, fw);
    const http = api(baseUrl, ADMIN_TOKEN);
    await eventually(() => expect(beat!.pings.map((p) => p.kind)).toContain('ok'), 30_000);
    // Readings are flowing into InfluxDB before it goes.
    await eventually(async () => expect((await http.get('/health')).body).toMatchObject({ checks: { influx: { ok: true } } }), 30_000);
    expect(smtp.mails).toHaveLength(0);

    await influx.stop();
    await eventually(() => expect(smtp!.mails.map((m) => m.subject)).toContainEqual(expect.stringContaining('InfluxDB')), 60_000);
    const mail = smtp.mails.find((m) => m.subject.includes('InfluxDB'))!;
    expect(mail).toMatchObject({ from: 'frostwatch@laclong.gov.vn', to: ['canbo@laclong.gov.vn'] });
    expect(mail.subject).toMatch(/LỖI: InfluxDB \(số đo\) không hoạt động/);
    await eventually(() => expect(beat!.pings.at(-1)?.kind).toBe('fail'), 30_000);
    // The secrets in the two URLs never reach the log.
    expect(fw.output()).not.toContain('mail-secret-123');
    expect(fw.output()).not.toContain(beat.uuid);
  });
});

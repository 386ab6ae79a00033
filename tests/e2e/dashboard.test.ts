import { readFile, rm } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../contracts/index.js';
import { launchChromium, screenshot, signInPage } from '../helpers/browser.js';
import { admin, prepareDistrict } from '../helpers/frost-night.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { type Api, type FrostwatchProcess, api, freePorts, runFrostwatch, waitForHttp } from '../helpers/system.js';
import { ADMIN_TOKEN } from '../helpers/system-under-test.js';

const PASSWORD = 'sương-muối-2026';
/** Slow enough that the page is open before the evening's first Watch (≈ 16:08, an hour after the start). */
const SPEED = 150;

/**
 * The officers' dashboard in Debian's Chromium against the whole running system: `frostwatch up` with three
 * simulated stations on a frost night, real influxd, the rule engine; warnings in dry run. Screenshots of each page
 * land in test-output/e2e for a person to look at.
 */
describe('officers dashboard', () => {
  let influx: TestInfluxd | undefined;
  let dataDir: string;
  let fw: FrostwatchProcess | undefined;
  let browser: Browser | undefined;
  let baseUrl: string;
  let http: Api;
  /** Content-Security-Policy violations seen on any page, as reports or as the errors they raise: the CSP must break nothing. */
  const cspViolations: string[] = [];

  beforeAll(async () => {
    influx = await startTestInfluxd({ database: 'frostwatch' });
    dataDir = await prepareDistrict();
    await admin(
      dataDir,
      ['user', 'add', '--username', 'thu', '--name', 'Lê Thị Thu', '--role', 'officer', '--password-stdin'],
      `${PASSWORD}\n`,
    );
    await admin(
      dataDir,
      ['user', 'add', '--username', 'quan', '--name', 'Trần Văn Quân', '--role', 'admin', '--password-stdin'],
      `${PASSWORD}\n`,
    );
    await admin(
      dataDir,
      ['user', 'add', '--username', 'khach', '--name', 'Khách', '--role', 'viewer', '--password-stdin'],
      `${PASSWORD}\n`,
    );
    const ports = await freePorts();
    baseUrl = `http://127.0.0.1:${ports.http}`;
    fw = runFrostwatch(
      ['up', '--sim', '3', '--scenario', 'frost-night', '--speed', String(SPEED), '--start', '2026-12-20T15:00:00+07:00'],
      {
        DATA_DIR: dataDir,
        HTTP_PORT: String(ports.http),
        MQTT_PORT: String(ports.mqtt),
        MQTT_WS_PORT: String(ports.ws),
        INFLUX_URL: influx.url,
        ADMIN_TOKEN,
      },
    );
    await waitForHttp(baseUrl, fw);
    http = api(baseUrl, ADMIN_TOKEN);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await fw?.kill('SIGTERM');
    await influx?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const signIn = (username: string): Promise<Page> => signInPage(browser!, { baseUrl, username, password: PASSWORD, cspViolations });

  it('signs an officer in, lists and places the stations, and shows a station turning to Watch live', async () => {
    const page = await signIn('thu');
    for (const id of ['sim-01', 'sim-02', 'sim-03']) {
      await page.getByTestId(`station-row-${id}`).waitFor();
      await page.getByTestId(`marker-${id}`).waitFor();
    }
    await page.screenshot({ path: screenshot('1-overview'), fullPage: true });
    expect(await page.getByTestId('marker-sim-01').getAttribute('data-level')).toBe('none');
    // No reload: the server-sent events move the station up the ladder.
    // Polled from here, not with a string predicate: the dashboard's CSP (no 'unsafe-eval') forbids evaluating strings in the page.
    await expect
      .poll(() => page.getByTestId('marker-sim-01').getAttribute('data-level'), { timeout: 90_000, interval: 250 })
      .not.toBe('none');
    expect(await page.getByTestId('station-row-sim-01').getAttribute('data-level')).not.toBe('none');
    expect(await page.getByTestId('live-indicator').getAttribute('data-state')).toBe('live');
    await page.screenshot({ path: screenshot('2-overview-watch'), fullPage: true });
    await page.context().close();
  });

  it('draws a station chart from the stored readings', async () => {
    const page = await signIn('thu');
    await page.goto(`${baseUrl}/#/station/sim-01`);
    await page.getByTestId('range-24h').click();
    const canvas = page.getByTestId('chart').locator('canvas').first();
    await canvas.waitFor();
    // Something was drawn: count painted pixels on the chart's canvas.
    // (Browser code as a string: the test project has no DOM types.)
    await page.waitForFunction(
      `(() => {
      const c = document.querySelector('[data-testid="chart"] canvas');
      const ctx = c && c.getContext('2d');
      if (!c || !ctx || c.width === 0) return false;
      const data = ctx.getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted += 1;
      return painted > 2000;
    })()`,
      null,
      { timeout: 30_000 },
    );
    await page.screenshot({ path: screenshot('3-station-chart'), fullPage: true });
    await page.context().close();
  });

  it('lets an officer acknowledge an alert, and the page shows it', async () => {
    const alerts = (await http.get('/api/alerts?stationId=sim-01')).body as Alert[];
    const alert = alerts.find((a) => a.kind === 'frost' && a.status === 'active');
    expect(alert).toBeDefined();
    const page = await signIn('thu');
    await page.goto(`${baseUrl}/#/alerts`);
    await page.getByTestId('tab-active').click();
    await page.getByTestId(`alert-${alert!.id}`).waitFor();
    await page.getByTestId(`alert-toggle-${alert!.id}`).click();
    await page.getByTestId(`alert-detail-${alert!.id}`).waitFor();
    await page.screenshot({ path: screenshot('4-alert-detail'), fullPage: true });
    await page.getByTestId(`ack-${alert!.id}`).click();
    await page.getByTestId('tab-acknowledged').click();
    await expect
      .poll(() => page.getByTestId(`alert-${alert!.id}`).getAttribute('data-status'), { timeout: 15_000, interval: 100 })
      .toBe('acknowledged');
    expect(((await http.get(`/api/alerts/${alert!.id}`)).body as Alert).acknowledgedBy).toBeTruthy();
    await page.screenshot({ path: screenshot('5-alert-acknowledged'), fullPage: true });
    await page.context().close();
  });

  it('gives a viewer no way to change anything', async () => {
    const page = await signIn('khach');
    await page.goto(`${baseUrl}/#/alerts`);
    await page.getByTestId('alert-list').waitFor();
    expect(await page.locator('[data-testid^="ack-"]').count()).toBe(0);
    await page.goto(`${baseUrl}/#/registry`);
    await page.getByTestId('read-only').waitFor();
    expect(await page.getByTestId('station-form').count()).toBe(0);
    // And the server agrees, whatever the page shows.
    const status = await page.evaluate(async () => {
      const res = await fetch('/api/alerts/1/ack', { method: 'POST', headers: { 'x-requested-with': 'frostwatch' } });
      return res.status;
    });
    expect(status).toBe(403);
    await page.screenshot({ path: screenshot('6-viewer-registry'), fullPage: true });
    await page.context().close();
  });

  it('lets an admin register a LoRaWAN sensor with its DevEUI and model, and lists it with its source', async () => {
    const page = await signIn('quan');
    await page.goto(`${baseUrl}/#/registry`);
    await page.getByTestId('station-form').waitFor();
    expect(await page.getByTestId('station-device-id').count()).toBe(0); // native: no device id asked
    await page.getByTestId('station-id').fill('ld-lora-01');
    await page.getByTestId('station-name').fill('Lát – LHT65');
    await page.getByTestId('station-commune').fill('Lát');
    await page.getByTestId('station-lat').fill('12.03');
    await page.getByTestId('station-lon').fill('108.40');
    await page.getByTestId('station-elevation').fill('1500');
    await page.getByTestId('station-source').selectOption('chirpstack');
    await page.getByTestId('station-device-id').fill('A84041000181C62D'); // as ChirpStack prints it
    await page.getByTestId('station-preset').selectOption('dragino-lht65');
    await page.getByTestId('station-submit').click();
    await page.getByTestId('token-dialog').waitFor();
    expect(await page.getByTestId('token-source-hint').textContent()).toMatch(/LoRaWAN/); // no token needed on the device
    await page.screenshot({ path: screenshot('6b-registry-lorawan'), fullPage: true });
    const stored = await http.get('/api/stations/ld-lora-01');
    expect(stored.body).toMatchObject({
      source: 'chirpstack',
      deviceId: 'a84041000181c62d',
      preset: 'dragino-lht65',
      sampling: 'downlink',
    });
    await page.context().close();
  });

  it("exports the night's report as a CSV that parses", async () => {
    const page = await signIn('thu');
    await page.goto(`${baseUrl}/#/reports`);
    await page.getByTestId('report-night').click();
    await page.getByTestId('report-date').fill('2026-12-20');
    await page.getByTestId('report-date').dispatchEvent('change');
    await page.getByTestId('report-table').waitFor();
    await page.screenshot({ path: screenshot('7-report'), fullPage: true });
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('csv-link').click()]);
    const csv = await readFile(await download.path(), 'utf8');
    const [header, ...lines] = csv.trim().split(/\r?\n/);
    expect(header).toMatch(/stationId/);
    const ids = lines.map((l) => l.split(',')[0]?.replace(/"/g, ''));
    expect(ids).toEqual(expect.arrayContaining(['sim-01', 'sim-02', 'sim-03']));
    await page.context().close();
  });

  it("names a district officer's district, and gives a province-wide admin a district filter (issue 18, districts)", async () => {
    expect((await http.post('/api/districts', { id: 'duc-trong', name: 'Đức Trọng' })).status).toBe(201);
    const station = { id: 'dt-e2e-01', name: 'Hiệp Thạnh', commune: 'Hiệp Thạnh', lat: 11.75, lon: 108.37, elevationM: 950 };
    expect((await http.post('/api/stations', { ...station, districtId: 'duc-trong' })).status).toBe(201);
    // thu was added without a district: an officer of the default one, Lạc Dương, who sees its stations only.
    const officer = await signIn('thu');
    await officer.getByTestId('station-row-sim-01').waitFor();
    expect(await officer.getByTestId('me-district').textContent()).toBe('Lạc Dương');
    expect(await officer.getByTestId('district-filter').count()).toBe(0);
    expect(await officer.getByTestId('station-row-dt-e2e-01').count()).toBe(0);
    await officer.screenshot({ path: screenshot('7b-district-officer'), fullPage: false });
    await officer.context().close();
    const admin = await signIn('quan');
    await admin.getByTestId('station-row-dt-e2e-01').waitFor();
    expect(await admin.getByTestId('me-district').count()).toBe(0);
    await admin.getByTestId('district-filter').selectOption('duc-trong');
    await admin.getByTestId('station-row-sim-01').waitFor({ state: 'detached' });
    expect(await admin.getByTestId('station-row-dt-e2e-01').count()).toBe(1);
    await admin.screenshot({ path: screenshot('7c-district-filter'), fullPage: false });
    await admin.context().close();
  });

  it('renders /docs under its own policy, and no page reported a CSP violation', async () => {
    const page = await signIn('thu');
    await page.goto(`${baseUrl}/docs`);
    await page.locator('.swagger-ui .info .title').waitFor();
    expect(await page.locator('.swagger-ui .opblock').count()).toBeGreaterThan(5);
    await page.screenshot({ path: screenshot('8-api-docs'), fullPage: false });
    await page.context().close();
    expect(cspViolations).toEqual([]);
  });
});

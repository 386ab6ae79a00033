import { readFile, rm } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Farmer, ForecastOverview, SeasonScore, StationForecast } from '../../contracts/index.js';
import { launchChromium, screenshot, signInPage } from '../helpers/browser.js';
import { admin, prepareDistrict } from '../helpers/frost-night.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { type Api, type FrostwatchProcess, api, freePorts, runFrostwatch, waitForHttp } from '../helpers/system.js';
import { ADMIN_TOKEN } from '../helpers/system-under-test.js';

const PASSWORD = 'sương-muối-2026';
/** A 14:30 start reaches the 15:00 forecast and its pre-alert in seconds, and the first Warning (≈ 19:45) in about half a minute. */
const SPEED = 600;
const ZONE = 'Asia/Ho_Chi_Minh';
const PHONE = { width: 360, height: 740 };
const DESK = { width: 1280, height: 900 };

/** A date in the farms' zone, `offsetDays` from today on this machine's clock (sv-SE writes YYYY-MM-DD). */
const farmDay = (offsetDays: number): string =>
  new Date(Date.now() + offsetDays * 86_400_000).toLocaleDateString('sv-SE', { timeZone: ZONE });

/**
 * The simulated evening is the farms' yesterday. The dashboard follows the server's clock (/api/ui-config), so its
 * defaults — last night for a survey, the last 60 days for the score — are those of the simulated time.
 */
const NIGHT = farmDay(-1);
const START = `${NIGHT}T14:30:00+07:00`;

/**
 * Issue 16 through the officers' dashboard in Debian's Chromium, against the whole running system: `frostwatch up`
 * with three simulated stations on a frost night and the local Open-Meteo stand-in forecasting a frosty sky. The day
 * before (the pre-alert on the overview, the forecast on the station chart), the morning after (a damage survey on a
 * phone), the season's score, and a farmer's warnings stopped by an officer. Screenshots land in test-output/e2e.
 */
describe('the day before and the morning after', () => {
  let influx: TestInfluxd | undefined;
  let dataDir: string;
  let fw: FrostwatchProcess | undefined;
  let browser: Browser | undefined;
  let baseUrl: string;
  let http: Api;
  const cspViolations: string[] = [];

  beforeAll(async () => {
    influx = await startTestInfluxd({ database: 'frostwatch' });
    dataDir = await prepareDistrict();
    for (const [username, name, role] of [
      ['thu', 'Lê Thị Thu', 'officer'],
      ['khach', 'Khách', 'viewer'],
    ] as const)
      await admin(dataDir, ['user', 'add', '--username', username, '--name', name, '--role', role, '--password-stdin'], `${PASSWORD}\n`);
    const ports = await freePorts();
    baseUrl = `http://127.0.0.1:${ports.http}`;
    fw = runFrostwatch(
      ['up', '--sim', '3', '--scenario', 'frost-night', '--forecast-sim', 'frosty', '--speed', String(SPEED), '--start', START],
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

  const signIn = (username: string, viewport?: { width: number; height: number }): Promise<Page> =>
    signInPage(browser!, { baseUrl, username, password: PASSWORD, cspViolations, ...(viewport ? { viewport } : {}) });

  const forecastOf = async (id: string): Promise<StationForecast> =>
    (await http.get(`/api/stations/${id}/forecast`)).body as StationForecast;

  it("shows tonight's pre-alert for the commune on the overview once the 15:00 forecast is in", async () => {
    // The API only to wait: the pre-alert is decided between 15:00 and 17:00 simulated time.
    await expect
      .poll(
        async () =>
          ((await http.get('/api/forecast')).body as ForecastOverview).prealerts.some((p) => p.lead === 'tonight' && p.night === NIGHT),
        { timeout: 30_000, interval: 250 },
      )
      .toBe(true);
    const page = await signIn('thu');
    const banner = page.getByTestId('forecast-banner');
    await banner.waitFor();
    expect(await banner.getAttribute('data-status')).toBe('fresh');
    const tonight = page.getByTestId('prealert-tonight');
    await tonight.waitFor();
    expect(await tonight.getAttribute('data-commune')).toBe('Lát');
    expect(await tonight.textContent()).toMatch(/Đêm nay · Lát: ≈ -?\d+\.\d °C/);
    expect(await page.getByTestId('forecast-cannot-decide').count()).toBe(0);
    expect(await page.getByTestId('no-prealert').count()).toBe(0);
    await page.screenshot({ path: screenshot('season-1-overview-prealert'), fullPage: true });
    await page.context().close();
  });

  it("draws the forecast's hours and tonight's corrected minimum on the station chart, and says how it was corrected", async () => {
    const forecast = await forecastOf('sim-01');
    const tonight = forecast.nights.find((n) => n.lead === 'tonight');
    expect(tonight).toBeDefined();
    const page = await signIn('thu', DESK);
    await page.goto(`${baseUrl}/#/station/sim-01`);
    const status = page.getByTestId('forecast-status');
    await status.waitFor();
    expect(await status.getAttribute('data-status')).toBe('fresh');
    const chart = page.getByTestId('chart');
    await expect
      .poll(async () => Number(await chart.getAttribute('data-nwp-hours')), { timeout: 15_000, interval: 200 })
      .toBeGreaterThan(6);
    expect((await chart.getAttribute('data-corrected'))?.split(' ')).toContain(String(tonight!.correctedMinC));
    const legend = (await chart.locator('.u-legend').textContent()) ?? '';
    expect(legend).toContain('Dự báo thời tiết');
    expect(legend).toContain('Thấp nhất đã hiệu chỉnh');
    expect(await page.getByTestId('corrected-tonight').textContent()).toBe(`${tonight!.correctedMinC.toFixed(1)} °C`);
    expect(await page.getByTestId('forecast-correction').textContent()).toMatch(/≈ −1\.5 \+ 1\.00 × .* học từ 0 đêm/);
    // Something was drawn on the canvas. (Browser code as a string: the test project has no DOM types.)
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
      { timeout: 15_000 },
    );
    await page.screenshot({ path: screenshot('season-2-station-forecast'), fullPage: true });
    await page.context().close();
  });

  it("lets an officer on a phone record last night's damage for a farm of the commune, and lists it; a viewer only reads", async () => {
    const page = await signIn('thu', PHONE);
    await page.getByTestId('nav-survey').click();
    const night = page.getByTestId('survey-night');
    await night.waitFor();
    // Last night on the server's simulated clock (it runs ×600: read it on both sides, its midnight may fall between).
    const simLastNight = async (): Promise<string> => {
      const { clock } = (await http.get('/api/ui-config')).body as { clock: { nowMs: number } };
      return new Date(clock.nowMs - 86_400_000).toLocaleDateString('sv-SE', { timeZone: ZONE });
    };
    const before = await simLastNight();
    const shown = await night.inputValue();
    expect([before, await simLastNight()]).toContain(shown);
    await night.fill(NIGHT);
    await page.getByTestId('survey-commune').selectOption('Lát');
    await page.getByTestId('survey-farmer').selectOption({ label: 'Trần Văn Tư' });
    const leafBurn = page.getByTestId('damage-leaf_burn');
    expect((await leafBurn.boundingBox())?.height).toBeGreaterThanOrEqual(60); // a thumb's target
    await leafBurn.click();
    expect(await leafBurn.getAttribute('aria-pressed')).toBe('true');
    await page.getByTestId('survey-note').fill('Lá non cháy ở vườn trũng');
    await page.getByTestId('survey-submit').click();
    await page.getByTestId('survey-saved').waitFor();
    const listed = page.getByTestId('survey-list').locator('[data-damage="leaf_burn"]');
    await listed.waitFor();
    expect(await listed.textContent()).toMatch(/Lát · Trần Văn Tư.*Cháy lá.*Lá non cháy ở vườn trũng/);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width); // no sideways scrolling
    await page.screenshot({ path: screenshot('season-3-survey-phone'), fullPage: true });
    await page.context().close();

    const viewer = await signIn('khach', PHONE);
    expect(await viewer.getByTestId('nav-survey').count()).toBe(0);
    await viewer.goto(`${baseUrl}/#/survey`);
    await viewer.getByTestId('read-only').waitFor();
    await viewer.getByTestId('survey-night').fill(NIGHT);
    await viewer.getByTestId('survey-list').locator('[data-damage="leaf_burn"]').waitFor();
    expect(await viewer.getByTestId('survey-form').count()).toBe(0);
    await viewer.context().close();
  });

  // A night is scored once it is over (07:00 the next morning): about 100 s of this simulated night.
  it('scores the night a hit for the commune with its lead time, and exports the score as CSV', { timeout: 200_000 }, async () => {
    // The API only to wait: a hit needs the ladder's Warning (≈ 19:45), and a lead time the night's cold after it.
    await expect
      .poll(
        async () => {
          const score = (await http.get(`/api/reports/score?from=${NIGHT}&to=${NIGHT}`)).body as SeasonScore;
          const row = score.nights.find((n) => n.commune === 'Lát');
          return row?.outcome === 'hit' && (row.leadTimeH ?? 0) > 0;
        },
        { timeout: 170_000, interval: 500 },
      )
      .toBe(true);
    const page = await signIn('thu', DESK);
    await page.goto(`${baseUrl}/#/reports`);
    await page.getByTestId('report-score').click();
    await page.getByTestId('score-chart').waitFor();
    const lat = page.getByTestId('score-chart').locator('[data-testid="score-commune"][data-commune="Lát"]');
    expect(await lat.locator('[data-row="warning"] [data-kind="hit"]').getAttribute('data-count')).toBe('1');
    expect(await lat.getByTestId('score-lead-warning').textContent()).toMatch(/^\d+\.\d giờ$/);
    const row = page.locator(`[data-testid="score-night"][data-night="${NIGHT}"][data-commune="Lát"]`);
    expect(await row.getByTestId('score-outcome').getAttribute('data-outcome')).toBe('hit');
    expect(await row.getByTestId('score-outcome').textContent()).toBe('báo đúng');
    expect(Number(await row.getByTestId('score-lead').textContent())).toBeGreaterThan(0);
    expect(await row.textContent()).toContain('Cháy lá');
    await page.screenshot({ path: screenshot('season-4-score'), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('score-csv-communes').click()]);
    const csv = await readFile(await download.path(), 'utf8');
    const [header, ...lines] = csv.trim().split(/\r?\n/);
    expect(header).toMatch(/^commune,hits,misses,falseAlarms,/);
    const lát = lines.find((l) => l.startsWith('Lát,'));
    expect(lát?.split(',')[1]).toBe('1');
    await page.context().close();
  });

  it("lets an officer stop a farmer's warnings on the farmer page, and lists it among the recent opt-outs", async () => {
    const farmers = (await http.get('/api/farmers')).body as Farmer[];
    const tu = farmers.find((f) => f.name === 'Trần Văn Tư');
    expect(tu?.optedOutAt).toBeNull();
    const page = await signIn('thu', DESK);
    await page.goto(`${baseUrl}/#/registry`);
    await page.getByTestId('registry-tab-farmers').click();
    await page.getByTestId(`optout-toggle-${tu!.id}`).click();
    const dialog = page.getByTestId('optout-dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Ngừng gửi cảnh báo cho Trần Văn Tư?');
    await page.getByTestId('optout-confirm').click();
    const cell = page.getByTestId(`farmer-optout-${tu!.id}`);
    await expect.poll(() => cell.getAttribute('data-opted-out'), { timeout: 10_000, interval: 100 }).toBe('true');
    expect(await cell.textContent()).toMatch(/đã ngừng từ .*, do cán bộ.*Gửi lại/);
    const event = page.locator(`[data-testid="optout-event"][data-farmer="${tu!.id}"]`);
    await event.waitFor();
    expect(await event.getAttribute('data-opted-out')).toBe('true');
    expect(await event.textContent()).toMatch(/Trần Văn Tư.*ngừng nhận \(do cán bộ\).*thu/);
    await page.screenshot({ path: screenshot('season-5-farmer-opt-out'), fullPage: true });
    const stored = ((await http.get('/api/farmers')).body as Farmer[]).find((f) => f.id === tu!.id);
    expect(stored?.optedOutVia).toBe('officer');
    await page.context().close();
  });

  it('reported no Content-Security-Policy violation on any page', () => {
    expect(cspViolations).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, type Reading, SeasonScoreSchema, SurveySchema } from '../../contracts/index.js';
import { emptyInputs } from '../../frost/inputs.js';
import { ForecastStore } from '../../server/forecast/store.js';
import { readingLine } from '../../server/influx/line-protocol.js';
import { type FullApp, stationBody, startFullApp } from '../helpers/full-app.js';

/**
 * The morning after (issue 16): damage surveys through the API, and the season score per commune — hits, misses,
 * false alarms and lead times — from real readings in InfluxDB, the alert history and the surveys, as JSON and CSV.
 */
const HOUR = 3_600_000;
/** Local midnight (UTC+7) of 2026-12-20 + d days + h hours. */
const local = (d: number, h: number, m = 0): number => Date.UTC(2026, 11, 19, 17, 0, 0) + d * 24 * HOUR + h * HOUR + m * 60_000;
const now = local(4, 9);
const clock: Clock = { now: () => now, speed: 1 };
let fx: FullApp;

/** A night's readings every 10 minutes, 17:00–08:00, cooling to `minC` at 05:30 and warming after. */
function nightOf(day: number, minC: number): Reading[] {
  const readings: Reading[] = [];
  const bottom = local(day + 1, 5, 30);
  for (let t = local(day, 17); t <= local(day + 1, 8); t += 10 * 60_000) {
    const hoursFromBottom = Math.abs(t - bottom) / HOUR;
    readings.push({ ts: t, airTempC: Math.round((minC + 0.9 * hoursFromBottom) * 10) / 10, rhPct: 85 });
  }
  return readings;
}

async function write(stationId: string, readings: readonly Reading[]): Promise<void> {
  await fx.influx.conn.writeLines(readings.map((r) => readingLine(stationId, r)));
}

function decide(
  stationId: string,
  to: 'watch' | 'warning' | 'severe' | 'all_clear',
  from: 'none' | 'watch' | 'warning' | 'severe',
  atMs: number,
) {
  const applied = fx.warnings.alerts.apply(
    { kind: 'frost', stationId, from, to, atMs, reason: 'test', notify: false, inputs: emptyInputs(atMs, null) },
    atMs,
  );
  if (!applied) throw new Error('not applied');
}

beforeAll(async () => {
  fx = await startFullApp({ clock });
  await fx.stations.create(stationBody('ld-score-a', { name: 'Đạ Sar 01', commune: 'Đạ Sar' }));
  await fx.stations.create(stationBody('ld-score-b', { name: 'Lát 01', commune: 'Lát' }));
  // Đạ Sar: night 0 froze (−1.2 °C) after a Warning at 23:00 and a pre-alert at 15:00 → a hit for both.
  await write('ld-score-a', nightOf(0, -1.2));
  decide('ld-score-a', 'watch', 'none', local(0, 19));
  decide('ld-score-a', 'warning', 'watch', local(0, 23));
  decide('ld-score-a', 'all_clear', 'warning', local(1, 8));
  new ForecastStore(fx.db).insertPreAlert({
    stationId: 'ld-score-a',
    night: '2026-12-20',
    lead: 'tonight',
    decidedAt: local(0, 15),
    forecastMinC: 1,
    correctedMinC: -0.5,
    cloudPct: 5,
    windMs: 1,
    dewPointC: -3,
  });
  // Đạ Sar night 1: 3 °C, a Warning anyway → a false alarm.
  await write('ld-score-a', nightOf(1, 3));
  decide('ld-score-a', 'warning', 'none', local(2, 1));
  decide('ld-score-a', 'all_clear', 'warning', local(2, 8));
  // Đạ Sar night 2: −0.2 °C at the station, a Warning, but the officer found no damage: the survey wins → false alarm.
  await write('ld-score-a', nightOf(2, -0.2));
  decide('ld-score-a', 'warning', 'none', local(2, 22));
  decide('ld-score-a', 'all_clear', 'warning', local(3, 8));
  // Lát night 0: −0.5 °C with no warning → a miss (and a survey says leaf burn). Night 1: 5 °C, nothing → no row.
  await write('ld-score-b', nightOf(0, -0.5));
  await write('ld-score-b', nightOf(1, 5));
}, 120_000);

afterAll(async () => {
  await (fx as FullApp | undefined)?.close();
});

const post = (headers: Record<string, string>, payload: unknown) =>
  fx.app.inject({ method: 'POST', url: '/api/surveys', headers, payload: payload as Record<string, unknown> });

describe('damage surveys', () => {
  it('an officer records the morning after per commune; bad bodies and viewers are refused', async () => {
    const res = await post(fx.headers.officer, { night: '2026-12-22', commune: 'đạ sar', damage: 'none', note: 'Đã kiểm tra 12 vườn' });
    expect(res.statusCode, res.body).toBe(201);
    // Stored under the stations' spelling of the commune.
    expect(SurveySchema.parse(res.json())).toMatchObject({ commune: 'Đạ Sar', source: 'officer', recordedBy: 'officer-user' });
    expect((await post(fx.headers.officer, { night: '2026-12-20', commune: 'Lát', damage: 'leaf_burn' })).statusCode).toBe(201);
    expect((await post(fx.headers.officer, { night: '2026-12-20', commune: 'Lát', damage: 'frozen' })).statusCode).toBe(400);
    expect((await post(fx.headers.officer, { night: '20/12/2026', commune: 'Lát', damage: 'none' })).statusCode).toBe(400);
    const unknownFarmer = await post(fx.headers.officer, { night: '2026-12-20', commune: 'Lát', damage: 'none', farmerId: 4242 });
    expect(unknownFarmer.statusCode).toBe(400);
    expect(unknownFarmer.json()).toMatchObject({ message: expect.stringContaining('farmerId') as unknown });
    expect((await post(fx.headers.viewer, { night: '2026-12-20', commune: 'Lát', damage: 'none' })).statusCode).toBe(403);
    const list = await fx.app.inject({ method: 'GET', url: '/api/surveys?from=2026-12-20&to=2026-12-22', headers: fx.headers.viewer });
    expect(
      SurveySchema.array()
        .parse(list.json())
        .map((s) => `${s.night} ${s.damage}`),
    ).toEqual(['2026-12-20 leaf_burn', '2026-12-22 none']);
  });
});

describe('season score', () => {
  it('scores each commune night against surveys and station minima, with lead times', async () => {
    const res = await fx.app.inject({ method: 'GET', url: '/api/reports/score?from=2026-12-20&to=2026-12-23', headers: fx.headers.viewer });
    expect(res.statusCode, res.body).toBe(200);
    const score = SeasonScoreSchema.parse(res.json());
    const rows = score.nights.map((n) => [n.night, n.commune, n.outcome, n.frostBy, n.prealertOutcome]);
    expect(rows).toEqual([
      ['2026-12-20', 'Đạ Sar', 'hit', 'station', 'hit'],
      ['2026-12-20', 'Lát', 'miss', 'survey', 'miss'],
      ['2026-12-21', 'Đạ Sar', 'false_alarm', 'none', 'quiet'],
      ['2026-12-22', 'Đạ Sar', 'false_alarm', 'survey', 'quiet'],
    ]);
    const hit = score.nights[0]!;
    expect(hit.minAirC).toBe(-1.2);
    expect(hit.highestLevel).toBe('warning');
    expect(hit.leadTimeH).toBe(6.5); // Warning 23:00 → coldest at 05:30
    expect(hit.prealertLeadTimeH).toBe(14.5); // pre-alert 15:00 → 05:30
    expect(score.nights[1]).toMatchObject({ damage: 'leaf_burn', minAirC: -0.5, warned: false });
    expect(score.communes).toEqual([
      {
        commune: 'Đạ Sar',
        hits: 1,
        misses: 0,
        falseAlarms: 2,
        quiet: 0,
        prealertHits: 1,
        prealertMisses: 0,
        prealertFalseAlarms: 0,
        medianLeadTimeH: 6.5,
        medianPrealertLeadTimeH: 14.5,
        surveyed: 1,
      },
      {
        commune: 'Lát',
        hits: 0,
        misses: 1,
        falseAlarms: 0,
        quiet: 0,
        prealertHits: 0,
        prealertMisses: 1,
        prealertFalseAlarms: 0,
        medianLeadTimeH: null,
        medianPrealertLeadTimeH: null,
        surveyed: 1,
      },
    ]);
  });

  it('gives the same as CSV, per commune and per night, and refuses a backwards or too long range', async () => {
    const communes = await fx.app.inject({
      method: 'GET',
      url: '/api/reports/score?from=2026-12-20&to=2026-12-23&format=csv',
      headers: fx.headers.viewer,
    });
    expect(communes.headers['content-type']).toMatch(/^text\/csv/);
    expect(communes.headers['content-disposition']).toContain('frostwatch-score-communes-2026-12-20-2026-12-23.csv');
    expect(communes.body.split('\r\n')).toEqual([
      'commune,hits,misses,falseAlarms,quiet,prealertHits,prealertMisses,prealertFalseAlarms,medianLeadTimeH,medianPrealertLeadTimeH,surveyed',
      'Đạ Sar,1,0,2,0,1,0,0,6.5,14.5,1',
      'Lát,0,1,0,0,0,1,0,,,1',
      '',
    ]);
    const nights = await fx.app.inject({
      method: 'GET',
      url: '/api/reports/score?from=2026-12-20&to=2026-12-23&format=csv&rows=nights',
      headers: fx.headers.viewer,
    });
    expect(nights.body.split('\r\n')[1]).toBe('2026-12-20,Đạ Sar,-1.2,,yes,station,warning,yes,yes,hit,hit,6.5,14.5');
    const backwards = await fx.app.inject({
      method: 'GET',
      url: '/api/reports/score?from=2026-12-23&to=2026-12-20',
      headers: fx.headers.viewer,
    });
    expect(backwards.statusCode).toBe(400);
    const tooLong = await fx.app.inject({
      method: 'GET',
      url: '/api/reports/score?from=2024-01-01&to=2026-12-20',
      headers: fx.headers.viewer,
    });
    expect(tooLong.statusCode).toBe(400);
  });
});

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFrostwatch } from '../helpers/system.js';

/**
 * `frostwatch backtest` as a person meets it: the shipped real nights in, decisions, scores, a report and its picture
 * out; bad files answered with one line, bad rows reported by line while the good ones still count.
 */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'frost-nights');
const OBS = join(FIXTURES, 'observations.csv');
const NIGHTS = join(FIXTURES, 'nights.csv');

describe('frostwatch backtest', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'frostwatch-backtest-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (args: string[]) => {
    const fw = runFrostwatch(['backtest', ...args], { DATA_DIR: join(dir, 'unused') });
    const code = await fw.exited;
    return { code, output: fw.output() };
  };

  it('replays the shared real nights as they are: every decision to JSON, the scores, a report and its SVG', async () => {
    const json = join(dir, 'out', 'decisions.json');
    const report = join(dir, 'out', 'report.md');
    const { code, output } = await run(['--readings', OBS, '--stations', NIGHTS, '--nights', NIGHTS, '--json', json, '--report', report]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/backtest: 1\/1 stations replayed \(DE_DWD03379_Muenchen-Stadt\)/); // the progress line
    expect(output).toMatch(/Replayed 13503 readings of 1 stations \(\d+ minute ticks\)/);
    expect(output).toMatch(/^frostwatch Warning\s+0\.\d\d \(\d+\/67\)\s+0\.\d\d \(\d+\/30\)/m);
    expect(output).toMatch(/^air ≤ 4 °C\s+0\.43 \(29\/67\)\s+0\.97 \(29\/30\)\s+0\.42/m);
    const out = JSON.parse(await readFile(json, 'utf8')) as { decisions: Record<string, unknown>[] };
    expect(out.decisions.length).toBeGreaterThan(100);
    for (const d of out.decisions) expect(Object.keys(d).sort()).toEqual(['at', 'kind', 'notify', 'reason', 'station', 'to']);
    expect(out.decisions.some((d) => d['kind'] === 'frost' && d['to'] === 'warning')).toBe(true);
    expect(out.decisions.every((d) => typeof d['at'] === 'string' && d['at'].endsWith('Z'))).toBe(true);
    const md = await readFile(report, 'utf8');
    expect(md).toMatch(/^\| frostwatch Warning \| /m);
    expect(md).toMatch(/!\[lead time against false alarms\]\(report\.svg\)/);
    expect(md).toMatch(/## Why frost nights were missed/);
    const svg = await readFile(join(dir, 'out', 'report.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
  });

  it('thins to a cadence, and scores variants of the rules beside the default', async () => {
    const { code, output } = await run([
      '--readings',
      OBS,
      '--stations',
      NIGHTS,
      '--nights',
      NIGHTS,
      '--cadence',
      '60',
      '--variant',
      'early: warningMinC=2',
    ]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/Replayed 2\d{3} readings of 1 stations/); // 13,503 ten-minute readings → one an hour
    expect(output).toMatch(/^frostwatch Warning, early\s+0\.\d\d/m);
  });

  it('reads any CSV by column name: extra columns ignored, bad rows reported by line, the good ones replayed', async () => {
    const readings = join(dir, 'mixed.csv');
    const stations = join(dir, 'stations.csv');
    const rows = ['site_note,station,ts_utc,air_temp_c,dew_point_c'];
    const start = Date.parse('2025-01-15T10:00:00Z');
    for (let i = 0; i < 16 * 6; i += 1)
      rows.push(`x,ld-01,${new Date(start + i * 600_000).toISOString()},${(10 - i * 0.12).toFixed(2)},-4`);
    rows.push('x,ld-01,not-a-time,3,-4', 'x,ld-01,2025-01-16T05:00:00Z,cold,-4');
    await writeFile(readings, `${rows.join('\n')}\n`);
    await writeFile(stations, 'station,lat,lon,elevation_m,time_zone\nld-01,11.94,108.46,1500,Asia/Ho_Chi_Minh\n');
    const json = join(dir, 'mixed.json');
    const { code, output } = await run(['--readings', readings, '--stations', stations, '--json', json]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/mixed\.csv: 2 rows skipped:/);
    expect(output).toMatch(/mixed\.csv line 98: ts_utc "not-a-time" is not an ISO 8601 time/);
    expect(output).toMatch(/mixed\.csv line 99: air_temp_c "cold" is not a number/);
    expect(output).toMatch(/Replayed 96 readings of 1 stations/);
    const out = JSON.parse(await readFile(json, 'utf8')) as { decisions: { kind: string; to: string; reason: string }[] };
    // Dry air (dew point −4 °C) cooling from 10 °C to −1.4 °C: a frost night, and the engine warned of it.
    expect(out.decisions.some((d) => d.kind === 'frost' && (d.to === 'warning' || d.to === 'severe'))).toBe(true);
  });

  it('refuses a readings file without air_temp_c, and one that does not exist, with one line', async () => {
    const noAir = join(dir, 'noair.csv');
    await writeFile(noAir, 'station,ts_utc\nld-01,2025-01-15T10:00:00Z\n');
    const missing = await run(['--readings', noAir, '--stations', NIGHTS]);
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/^frostwatch: .*noair\.csv: missing column air_temp_c\n$/);
    const absent = await run(['--readings', join(dir, 'nope.csv'), '--stations', NIGHTS]);
    expect(absent.code).toBe(1);
    expect(absent.output).toMatch(/^frostwatch: .*nope\.csv: cannot read \(ENOENT\)\n$/);
  });

  it.each([
    [['--report', 'x.md'], /^frostwatch: --report needs --nights/],
    [['--loso'], /^frostwatch: --loso needs --nights/],
    [['--cadence', 'soon'], /^frostwatch: --cadence: "soon" is not a whole number of minutes from 1 to 180\n$/],
    [['--rule', 'warningMinC=warm'], /^frostwatch: --rule: "warningMinC=warm" is not name=number\n$/],
    [['--rule', 'noSuchRule=1'], /^frostwatch: --rule: no numeric rule noSuchRule\n$/],
    [['--crop', 'tea'], /^frostwatch: --crop: "tea" is not one of arabica, robusta, young\n$/],
  ])('refuses %j with one line and no stack trace', async (extra, expected) => {
    const { code, output } = await run(['--readings', OBS, '--stations', NIGHTS, ...extra]);
    expect(code).toBe(1);
    expect(output).toMatch(expected);
    expect(output).not.toMatch(/\n\s+at /);
  });
});

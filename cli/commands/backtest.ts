import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { Command } from 'commander';
import { nestedOverrides, OVERRIDABLE_RULES, type RuleOverrides } from '../../frost/index.js';
import { CropSchema } from '../../contracts/index.js';
import { BacktestInputError, loadNights, loadReadings, loadStations, type Loaded } from '../../backtest/csv.js';
import { renderChartSvg } from '../../backtest/chart-svg.js';
import { fitExcept, minimumRows } from '../../backtest/minimum-fit.js';
import { replayLeaveOneStationOut } from '../../backtest/loso.js';
import { readModelFile } from '../../backtest/model-file.js';
import { prepareReadings, replayPrepared } from '../../backtest/replay.js';
import { renderReport } from '../../backtest/report.js';
import { engineAlarmTimes, plainAlarmTimes, scoreAlarms, type AlarmScore } from '../../backtest/score.js';
import type { BacktestDecision, NightLabel, RecordedReading, RecordedStation } from '../../backtest/types.js';
import { collect, fail, out } from '../output.js';

interface BacktestOptions {
  readings: string[];
  stations: string[];
  nights: string[];
  json?: string;
  report?: string;
  cadence?: string;
  crop: string;
  timeZone?: string;
  loso?: boolean;
  fit?: string;
  model?: string;
  rule: string[];
  variant: string[];
}

/**
 * `frostwatch backtest`: recorded readings through the server's own rule engine on a simulated clock, every decision
 * out as JSON, and — with labelled nights — the skill of its Warning beside plain thermometer alarms.
 */
export function registerBacktestCommand(program: Command): void {
  program
    .command('backtest')
    .description(
      'replay recorded readings through the rule engine the server runs (same rules, holds and minute ticks, on a simulated clock)\n' +
        'and score its Warning against labelled frost nights and near misses. Reads no environment and touches no data directory.',
    )
    .requiredOption(
      '--readings <file.csv>',
      'readings: station,ts_utc,air_temp_c[,rh_pct,dew_point_c,wind_ms,leaf_temp_c] (repeatable)',
      collect,
      [],
    )
    .requiredOption(
      '--stations <file.csv>',
      'stations: station,lat,lon,elevation_m[,time_zone,crop]; a nights.csv reads as is (repeatable)',
      collect,
      [],
    )
    .option('--nights <file.csv>', 'labelled nights in the nights.csv layout: score the alarms (repeatable)', collect, [])
    .option('--json <out.json>', 'write every decision: {"decisions":[{station,at,kind,to,notify,reason}], …}')
    .option('--report <out.md>', 'write the scores as Markdown, with the picture beside it as <out>.svg (needs --nights)')
    .option('--cadence <minutes>', 'replay one reading per this many minutes (e.g. 60: 10-minute records as an hourly station)')
    .option('--crop <crop>', 'crop of stations whose file does not say: arabica | robusta | young', 'arabica')
    .option('--time-zone <iana>', 'time zone of stations whose file does not say (default: the whole-hour zone of their longitude)')
    .option(
      '--loso',
      "leave one station out: replay each station with a minimum model fitted on the other stations' nights (needs --nights)",
    )
    .option('--fit <out.json>', 'fit the minimum model on these readings and nights and write it (needs --nights)')
    .option('--model <file.json>', 'replay with this minimum model (from --fit) instead of the default')
    .option(
      '--rule <name=value>',
      'override a rule as PUT /api/stations/{id}/rules does, e.g. warningMinC=1 or qc.stuckDeltaC=0.3 (repeatable)',
      collect,
      [],
    )
    .option(
      '--variant <"name: rule=value …">',
      'also replay the engine with these rules, scored beside it, e.g. "cautious: forecastMarginSd=0.35" (repeatable)',
      collect,
      [],
    )
    .action((opts: BacktestOptions) => {
      try {
        run(opts);
      } catch (err) {
        if (err instanceof BacktestInputError) fail(err.message);
        throw err;
      }
    });
}

function run(opts: BacktestOptions): void {
  const crop = CropSchema.safeParse(opts.crop);
  if (!crop.success) fail(`--crop: "${opts.crop}" is not one of ${CropSchema.options.join(', ')}`);
  const cadenceMin = opts.cadence === undefined ? undefined : Number(opts.cadence);
  if (cadenceMin !== undefined && !(Number.isInteger(cadenceMin) && cadenceMin >= 1 && cadenceMin <= 180))
    fail(`--cadence: "${opts.cadence}" is not a whole number of minutes from 1 to 180`);
  if (opts.report !== undefined && opts.nights.length === 0) fail('--report needs --nights (the labels to score against)');
  if ((opts.loso || opts.fit !== undefined) && opts.nights.length === 0)
    fail(`${opts.loso ? '--loso' : '--fit'} needs --nights (the minimum of each night)`);
  if (opts.loso && opts.model !== undefined) fail('--loso fits its own models; leave out --model');
  if (opts.variant.length > 0 && opts.nights.length === 0) fail('--variant needs --nights (variants are compared by their scores)');
  const model = opts.model === undefined ? undefined : readModelFile(opts.model);
  const ruleOverrides = parseRules(opts.rule);
  const variants = opts.variant.map(parseVariant);

  const readings = loadAll(opts.readings, loadReadings);
  const stations = loadAll(opts.stations, (f) => loadStations(f, { timeZone: opts.timeZone, crop: crop.data }));
  const nights = loadAll(opts.nights, loadNights);
  const started = performance.now();
  const byStation = prepareReadings(readings, cadenceMin);
  const onStation = (done: number, total: number, station: string): void =>
    progress(`backtest: ${done}/${total} stations replayed (${station})`, done === total);
  if (opts.fit !== undefined) {
    const rows = minimumRows(byStation, stations, nights);
    const fitted = fitExcept(rows, null, `fitted by frostwatch backtest on ${nights.length} nights of ${rows.size} stations`);
    writeOut(opts.fit, `${JSON.stringify(fitted, null, 1)}\n`);
    out(
      `Minimum model fitted on ${[...rows.values()].reduce((n, r) => n + r.length, 0)} readings of ${rows.size} stations, written to ${opts.fit}`,
    );
  }
  const result = opts.loso
    ? replayLeaveOneStationOut(byStation, stations, nights, { onStation, overrides: ruleOverrides })
    : replayPrepared(byStation, stations, { onStation, overrides: { ...ruleOverrides, ...(model ? { minimumModel: model } : {}) } });
  const seconds = (performance.now() - started) / 1000;
  out(
    `Replayed ${result.readings} readings of ${result.readingsByStation.size} stations (${result.ticks} minute ticks) in ${seconds.toFixed(1)} s; ${result.decisions.length} decisions.`,
  );
  if (result.unknownStations.length > 0) out(`Not replayed (not in the stations file): ${result.unknownStations.join(', ')}`);

  if (opts.json !== undefined) {
    writeOut(
      opts.json,
      `${JSON.stringify({ decisions: result.decisions.map(decisionJson), readings: result.readings, stations: result.readingsByStation.size, cadenceMin: cadenceMin ?? null }, null, 1)}\n`,
    );
    out(`Decisions written to ${opts.json}`);
  }
  if (nights.length === 0) return;

  const scored = nights.filter((n) => result.readingsByStation.has(n.station));
  if (scored.length < nights.length) out(`${nights.length - scored.length} labelled nights have no replayed readings and are not scored.`);
  const variantAlarms = variants.map((v) => {
    const overrides = { ...ruleOverrides, ...v.overrides };
    const replayed = opts.loso
      ? replayLeaveOneStationOut(byStation, stations, nights, { overrides })
      : replayPrepared(byStation, stations, { overrides: { ...overrides, ...(model ? { minimumModel: model } : {}) } });
    return engineAlarmTimes(`frostwatch Warning, ${v.name}`, replayed.decisions);
  });
  const alarms = [engineAlarmTimes('frostwatch Warning', result.decisions), ...variantAlarms, ...plainAlarmTimes(result.readingsByStation)];
  const scores = scoreAlarms(scored, result.readingsByStation, alarms);
  printScores(scores);
  if (opts.report !== undefined) {
    const svgPath = join(dirname(opts.report), `${basename(opts.report, extname(opts.report))}.svg`);
    const meta = {
      files: [...opts.readings, ...opts.nights.filter((f) => !opts.readings.includes(f))],
      stations: result.readingsByStation.size,
      readings: result.readings,
      nights: scored.length,
      cadenceNote: `${cadenceMin === undefined ? 'each station at its recorded cadence' : `thinned to one reading per ${cadenceMin} min`}${opts.loso ? '; leave one station out: each station judged by a minimum model fitted on the others' : ''}`,
      svgName: basename(svgPath),
    };
    writeOut(opts.report, renderReport(scores, meta));
    writeOut(svgPath, renderChartSvg(scores));
    out(`Report written to ${opts.report} (picture ${svgPath})`);
  }
}

/** `name=value` pairs into rule overrides: the numeric rules only, as the API takes them. */
function parseRules(pairs: readonly string[]): RuleOverrides {
  const flat: Record<string, number> = {};
  for (const pair of pairs) {
    const m = /^([A-Za-z.]+)=(-?[0-9.]+)$/.exec(pair);
    if (!m) fail(`--rule: "${pair}" is not name=number`);
    const [, name, raw] = m as unknown as [string, string, string];
    const value = Number(raw);
    if (!Number.isFinite(value)) fail(`--rule: "${raw}" is not a number`);
    if (!OVERRIDABLE_RULES.includes(name)) fail(`--rule: no numeric rule ${name}`);
    flat[name] = value;
  }
  return nestedOverrides(flat);
}

/** `"name: rule=value rule=value"` → a named set of overrides. */
function parseVariant(text: string): { name: string; overrides: RuleOverrides } {
  const m = /^\s*([^:]+):\s*(.+)$/.exec(text);
  if (!m) fail(`--variant: "${text}" is not "name: rule=value …"`);
  const [, name, rules] = m as unknown as [string, string, string];
  return { name: name.trim(), overrides: parseRules(rules.trim().split(/[\s,]+/)) };
}

function loadAll<T>(files: readonly string[], load: (file: string) => Loaded<T>): T[] {
  const rows: T[] = [];
  for (const file of files) {
    const loaded = load(file);
    rows.push(...loaded.rows);
    if (loaded.skipped > 0) {
      out(`${file}: ${loaded.skipped} row${loaded.skipped > 1 ? 's' : ''} skipped:`);
      for (const p of loaded.problems) out(`  ${p}`);
      if (loaded.skipped > loaded.problems.length) out(`  … and ${loaded.skipped - loaded.problems.length} more`);
    }
  }
  return rows;
}

function printScores(scores: readonly AlarmScore[]): void {
  const ratio = (v: number | null): string => (v === null || Number.isNaN(v) ? '—' : v.toFixed(2));
  const hours = (v: number | null): string => (v === null || Number.isNaN(v) ? '—' : `${v.toFixed(1)} h`);
  out('');
  out(
    `${'alarm'.padEnd(34)} ${'POD ≥2h'.padStart(14)} ${'where possible'.padStart(14)} ${'FAR'.padStart(6)} ${'median lead'.padStart(11)} ${'p10 lead'.padStart(9)}`,
  );
  for (const s of scores) {
    const pod = `${ratio(s.pod)} (${s.hits}/${s.frostNights})`;
    const possible = `${ratio(s.podPossible)} (${s.possibleHits}/${s.possibleNights})`;
    out(
      `${s.name.padEnd(34)} ${pod.padStart(14)} ${possible.padStart(14)} ${ratio(s.far).padStart(6)} ${hours(s.medianLeadH).padStart(11)} ${hours(s.p10LeadH).padStart(9)}`,
    );
  }
}

/** One line that rewrites itself on a terminal; plain lines (the last one only) when the output is a file or a pipe. */
function progress(line: string, last: boolean): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K${last ? '\n' : ''}`);
  else process.stderr.write(`${line}\n`);
}

/** A decision as decisions.json has it: the time once, as `at` (ISO 8601), without `atMs`. */
function decisionJson({ station, at, kind, to, notify, reason }: BacktestDecision): Omit<BacktestDecision, 'atMs'> {
  return { station, at, kind, to, notify, reason };
}

function writeOut(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

export type { NightLabel, RecordedReading, RecordedStation };

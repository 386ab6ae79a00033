import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import {
  DEFAULT_PREALERT_RULES,
  fitCorrection,
  judgeNight,
  NIGHT_FROM_HOUR,
  NIGHT_TO_HOUR,
  PRIOR_CORRECTION,
  summariseNight,
  type ForecastHour,
  type MinimumCorrection,
  type MinimumPair,
  type NightSummary,
  type PreAlertRules,
} from '../frost/index.js';
import { localHourMinute } from '../frost/local-time.js';
import { dewPointC } from '../frost/psychro.js';
import type { Dataset } from './datasets.js';
import type { NightLabel, RecordedReading } from './types.js';

/**
 * The afternoon pre-alert (frost/forecast-night.ts) evaluated IN SIMULATION on the shipped real nights: no recorded
 * forecast exists for these stations, so each night's forecast minimum is synthesised from its observed minimum plus a
 * warm bias and a random error of the size the literature gives for numerical 2 m night-time minima. The decision
 * itself — summariseNight, fitCorrection learnt chronologically per station, judgeNight — is the production code.
 * Pure apart from `runPreAlertEvaluation`'s progress callback: the same nights, scenario and seed give the same numbers.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** The pre-alert goes out between 15:00 and 17:00 local; the simulation issues it at 16:00. */
export const ISSUE_LOCAL_HOUR = 16;
/** A night's observed minimum is known once its labelled window (sunset → sunrise + 3 h) is over. */
const LABEL_AFTER_SUNRISE_MS = 3 * HOUR_MS;

export type Lead = 'tonight' | 'tomorrow';
export const LEADS: readonly Lead[] = ['tonight', 'tomorrow'];

/**
 * (a) the raw forecast minimum, (b) the fixed prior correction, (c) the station's correction learnt on earlier nights
 * (`fitCorrection`, as in production), and (d) an alternative that is NOT in production: the same, but keeping the
 * bias-only fit (slope 1) from 15 nights on instead of switching to a fitted line — to show what the slope adds.
 */
export type Variant = 'raw' | 'prior' | 'learnt' | 'learntBias';
export const VARIANTS: readonly Variant[] = ['raw', 'prior', 'learnt', 'learntBias'];
export const VARIANT_NAMES: Readonly<Record<Variant, string>> = {
  raw: '(a) raw forecast',
  prior: '(b) prior −1.5 °C',
  learnt: '(c) learnt per station',
  learntBias: '(d) learnt, bias only (not in production)',
};

/** `fitCorrection`, but a bias with slope 1 where it would fit a line (variant (d)). */
export function fitBiasOnly(pairs: readonly MinimumPair[], maxForecastC = 10): MinimumCorrection {
  const fitted = fitCorrection(pairs, maxForecastC);
  if (fitted.kind !== 'linear') return fitted;
  const errors = pairs
    .filter((p) => Number.isFinite(p.forecastMinC) && Number.isFinite(p.observedMinC) && p.forecastMinC <= maxForecastC)
    .map((p) => p.observedMinC - p.forecastMinC);
  const alpha = errors.reduce((s, e) => s + e, 0) / errors.length;
  const rmseC = Math.sqrt(errors.reduce((s, e) => s + (e - alpha) ** 2, 0) / errors.length);
  return { alpha: Math.round(alpha * 100) / 100, beta: 1, n: errors.length, rmseC: Math.round(rmseC * 100) / 100, kind: 'bias' };
}

/** `cold`: the corrected minimum alone; `rule`: the whole rule, with clear and calm assumed (no cloud or wind data). */
export type Criteria = 'cold' | 'rule';
export const CRITERIA: readonly Criteria[] = ['rule', 'cold'];

/** The pre-alert thresholds swept (`minC`, °C). */
export const MIN_C_SWEEP: readonly number[] = [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4];

const NO_CORRECTION: MinimumCorrection = { alpha: 0, beta: 1, n: 0, rmseC: 0, kind: 'prior' };

/** How the synthetic forecast minimum departs from the observed one. */
export interface ErrorScenario {
  id: string;
  name: string;
  /** Warm bias (°C): one value for every station, or drawn once per station and seed, uniform in [min, max]. */
  biasC: number | { min: number; max: number };
  /**
   * Extra warmth on colder nights: + coldGain · (coldRefC − observed). 0 = a constant bias. A gain of 0.2 makes the
   * forecast's minimum span only 80 % of the observed one (models under-resolve strong inversions).
   */
  coldGain: number;
  coldRefC: number;
  /** Standard deviation of the forecast minimum's random error (°C), by lead. */
  sigmaC: Readonly<Record<Lead, number>>;
}

const SIGMA: Readonly<Record<Lead, number>> = { tonight: 1.5, tomorrow: 2.0 };

export const SCENARIOS: readonly ErrorScenario[] = [
  { id: 'perfect', name: 'perfect forecast (no bias, no error)', biasC: 0, coldGain: 0, coldRefC: 0, sigmaC: { tonight: 0, tomorrow: 0 } },
  { id: 'ecmwf', name: 'ECMWF-like: +1.5 °C at every station', biasC: 1.5, coldGain: 0, coldRefC: 0, sigmaC: SIGMA },
  {
    id: 'station',
    name: 'station bias: +0.5…3 °C, drawn per station',
    biasC: { min: 0.5, max: 3 },
    coldGain: 0,
    coldRefC: 0,
    sigmaC: SIGMA,
  },
  {
    id: 'cold',
    name: 'station bias, warmer the colder the night',
    biasC: { min: 0.5, max: 3 },
    coldGain: 0.2,
    coldRefC: 3,
    sigmaC: SIGMA,
  },
];

/** One labelled night with what its observations say of the air the forecast would have described. */
export interface PreAlertNight {
  nightId: string;
  station: string;
  kind: 'frost' | 'near_miss';
  observedMinC: number;
  sunsetMs: number;
  sunriseMs: number;
  timeOfMinMs: number;
  timeZone: string;
  /** Local midnight at the start of the evening's date (summariseNight's `eveningMidnightMs`). */
  eveningMidnightMs: number;
  /** Mean dew point sunset → sunrise (measured, else from RH), null without either. */
  dewPointC: number | null;
  /** Mean wind sunset → sunrise, null when the station does not measure it (none of the shipped sets do). */
  windMs: number | null;
}

/** Local midnight of the date `ms` falls on, in `timeZone` (whole-minute offsets). */
export function localMidnightMs(ms: number, timeZone: string): number {
  const { hour, minute } = localHourMinute(ms, timeZone);
  return Math.floor(ms / 60_000) * 60_000 - (hour * 60 + minute) * 60_000;
}

function readingDewC(r: RecordedReading): number | null {
  if (r.dewC !== null) return r.dewC;
  return r.rhPct !== null && r.rhPct > 0 ? dewPointC(r.airC, r.rhPct) : null;
}

function meanOf(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((s, v) => s + v, 0) / values.length;
}

/** Index of the first reading at or after `t`. */
function firstAtOrAfter(readings: readonly RecordedReading[], t: number): number {
  let lo = 0;
  let hi = readings.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((readings[mid] as RecordedReading).ts < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The labelled nights in the pre-alert's terms, by station and then chronologically. */
export function preAlertNights(data: Dataset): PreAlertNight[] {
  const zones = new Map(data.stations.map((s) => [s.station, s.timeZone]));
  const byStation = new Map<string, RecordedReading[]>();
  for (const r of data.readings) {
    let list = byStation.get(r.station);
    if (!list) byStation.set(r.station, (list = []));
    list.push(r);
  }
  for (const list of byStation.values()) list.sort((a, b) => a.ts - b.ts);
  const out = data.nights.map((n: NightLabel): PreAlertNight => {
    const timeZone = zones.get(n.station) ?? 'Etc/GMT';
    const readings = byStation.get(n.station) ?? [];
    const dews: number[] = [];
    const winds: number[] = [];
    for (let i = firstAtOrAfter(readings, n.sunsetMs); i < readings.length; i += 1) {
      const r = readings[i] as RecordedReading;
      if (r.ts > n.sunriseMs) break;
      const dew = readingDewC(r);
      if (dew !== null) dews.push(dew);
      if (r.windMs !== null) winds.push(r.windMs);
    }
    return {
      nightId: n.nightId,
      station: n.station,
      kind: n.kind,
      observedMinC: n.minAirC,
      sunsetMs: n.sunsetMs,
      sunriseMs: n.sunriseMs,
      timeOfMinMs: n.timeOfMinMs,
      timeZone,
      eveningMidnightMs: localMidnightMs(n.sunsetMs, timeZone),
      dewPointC: meanOf(dews),
      windMs: meanOf(winds),
    };
  });
  return out.sort((a, b) => (a.station === b.station ? a.sunsetMs - b.sunsetMs : a.station < b.station ? -1 : 1));
}

// ---- seeded randomness: every draw keyed by what it is for, so it never depends on the order of other draws ----

function hashKey(parts: readonly (string | number)[]): number {
  const text = parts.join('\u001f');
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

function uniformFor(...parts: (string | number)[]): () => number {
  const rng = xoroshiro128plus(hashKey(parts));
  return () => uniformFloat64(rng);
}

/** Standard normal keyed by `parts` (Box–Muller). */
export function normalFor(...parts: (string | number)[]): number {
  const u = uniformFor(...parts);
  const u1 = 1 - u();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u());
}

/** The station's warm bias in this scenario and seed. */
export function stationBiasC(scenario: ErrorScenario, station: string, seed: number): number {
  if (typeof scenario.biasC === 'number') return scenario.biasC;
  const { min, max } = scenario.biasC;
  return min + (max - min) * uniformFor('bias', seed, scenario.id, station)();
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** The synthetic forecast minimum (0.1 °C, as Open-Meteo gives it). */
export function syntheticForecastMinC(observedMinC: number, biasC: number, scenario: ErrorScenario, errorC: number): number {
  return round1(observedMinC + biasC + scenario.coldGain * (scenario.coldRefC - observedMinC) + errorC);
}

/**
 * The forecast's hours of one night, 18:00 → 07:00 local: a cooling curve that reaches `forecastMinC` at the hour of
 * the observed minimum (held inside the window) and warms slowly after it. Dew point: the night's observed mean.
 * Cloud 0 % and wind 0 m/s unless the station measured wind: no shipped set has cloud or wind, so the sky is ASSUMED
 * clear and the air calm — the clear and calm tests are not evaluated here.
 */
export function syntheticForecastHours(night: PreAlertNight, forecastMinC: number): ForecastHour[] {
  const from = night.eveningMidnightMs + NIGHT_FROM_HOUR * HOUR_MS;
  const count = 24 + NIGHT_TO_HOUR - NIGHT_FROM_HOUR + 1;
  const minIndex = Math.min(count - 1, Math.max(0, Math.round((night.timeOfMinMs - from) / HOUR_MS)));
  return Array.from({ length: count }, (_, i): ForecastHour => {
    const tempC = i <= minIndex ? forecastMinC + (5 * (minIndex - i)) / Math.max(1, minIndex) : forecastMinC + 0.3 * (i - minIndex);
    return { ts: from + i * HOUR_MS, tempC: round1(tempC), dewPointC: night.dewPointC, cloudPct: 0, windMs: night.windMs ?? 0 };
  });
}

/** When the pre-alert for `night` goes out at this lead: 16:00 local on the evening's date, or the day before. */
export function issueMs(night: PreAlertNight, lead: Lead): number {
  return night.eveningMidnightMs + ISSUE_LOCAL_HOUR * HOUR_MS - (lead === 'tomorrow' ? DAY_MS : 0);
}

/** One night at one lead, as the pre-alert saw it. */
export interface NightRecord {
  nightId: string;
  station: string;
  kind: 'frost' | 'near_miss';
  observedMinC: number;
  lead: Lead;
  biasC: number;
  summary: NightSummary;
  corrections: Readonly<Record<Variant, MinimumCorrection>>;
}

/**
 * One simulated season per station and lead: each night gets a synthetic forecast; the learnt correction is fitted on
 * the earlier nights of the same station and lead whose minimum had been observed before this pre-alert went out
 * (the night before is not, for "tomorrow"). The first nights therefore use the prior, as a new farm would.
 */
export function simulateRun(nights: readonly PreAlertNight[], scenario: ErrorScenario, seed: number): NightRecord[] {
  const out: NightRecord[] = [];
  const byStation = new Map<string, PreAlertNight[]>();
  for (const n of nights) {
    let list = byStation.get(n.station);
    if (!list) byStation.set(n.station, (list = []));
    list.push(n);
  }
  for (const [station, list] of byStation) {
    const sorted = [...list].sort((a, b) => a.sunsetMs - b.sunsetMs);
    const biasC = stationBiasC(scenario, station, seed);
    for (const lead of LEADS) {
      const pairs: MinimumPair[] = [];
      let known = 0; // sorted[0 .. known) have entered `pairs`
      const forecasts: number[] = [];
      for (const [i, night] of sorted.entries()) {
        const errorC = scenario.sigmaC[lead] === 0 ? 0 : scenario.sigmaC[lead] * normalFor('error', seed, scenario.id, night.nightId, lead);
        const forecastMinC = syntheticForecastMinC(night.observedMinC, biasC, scenario, errorC);
        forecasts.push(forecastMinC);
        const issued = issueMs(night, lead);
        while (known < i && (sorted[known] as PreAlertNight).sunriseMs + LABEL_AFTER_SUNRISE_MS <= issued) {
          pairs.push({ forecastMinC: forecasts[known] as number, observedMinC: (sorted[known] as PreAlertNight).observedMinC });
          known += 1;
        }
        const summary = summariseNight(syntheticForecastHours(night, forecastMinC), night.eveningMidnightMs);
        if (summary === null) throw new Error(`${night.nightId}: the synthetic forecast has too few hours`);
        out.push({
          nightId: night.nightId,
          station,
          kind: night.kind,
          observedMinC: night.observedMinC,
          lead,
          biasC,
          summary,
          corrections: { raw: NO_CORRECTION, prior: PRIOR_CORRECTION, learnt: fitCorrection(pairs), learntBias: fitBiasOnly(pairs) },
        });
      }
    }
  }
  return out;
}

/** The rules a criterion judges with: `cold` opens the clear, calm and dry tests wide. */
export function rulesFor(criteria: Criteria, minC: number): PreAlertRules {
  return criteria === 'rule'
    ? { ...DEFAULT_PREALERT_RULES, minC }
    : { clearMaxCloudPct: 100, calmMaxWindMs: Infinity, dryMaxDewPointC: Infinity, minC };
}

export interface Score {
  hits: number;
  misses: number;
  falseAlarms: number;
  correctNegatives: number;
  /** Probability of detection, H / (H + M); null without frost nights. */
  pod: number | null;
  /** False-alarm ratio among pre-alerted nights, FA / (H + FA) — here relative to NEAR MISSES only. */
  far: number | null;
  /** Critical success index, H / (H + M + FA). */
  csi: number | null;
}

export function scoreOf(hits: number, misses: number, falseAlarms: number, correctNegatives: number): Score {
  const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);
  return {
    hits,
    misses,
    falseAlarms,
    correctNegatives,
    pod: ratio(hits, hits + misses),
    far: ratio(falseAlarms, hits + falseAlarms),
    csi: ratio(hits, hits + misses + falseAlarms),
  };
}

export interface Judged {
  variant: Variant;
  criteria: Criteria;
  minC: number;
}

/** Whether the pre-alert went out for this night, by the production judgeNight (crop shift 0: the labels are 2 m air). */
export function preAlerted(record: NightRecord, how: Judged): boolean {
  return judgeNight(record.summary, record.corrections[how.variant], { cropShiftC: 0 }, rulesFor(how.criteria, how.minC)).frostLikely;
}

export function scoreRecords(records: readonly NightRecord[], how: Judged): Score {
  let hits = 0;
  let misses = 0;
  let falseAlarms = 0;
  let correctNegatives = 0;
  for (const r of records) {
    const alerted = preAlerted(r, how);
    if (r.kind === 'frost') {
      if (alerted) hits += 1;
      else misses += 1;
    } else if (alerted) falseAlarms += 1;
    else correctNegatives += 1;
  }
  return scoreOf(hits, misses, falseAlarms, correctNegatives);
}

/** The corrected minimum's error against the observed one: mean (corrected − observed) and RMSE, °C. */
export function correctionError(records: readonly NightRecord[], variant: Variant): { meanC: number; rmseC: number } {
  let sum = 0;
  let sq = 0;
  for (const r of records) {
    const c = r.corrections[variant];
    const e = Math.round((c.alpha + c.beta * r.summary.forecastMinC) * 100) / 100 - r.observedMinC;
    sum += e;
    sq += e * e;
  }
  const n = Math.max(1, records.length);
  return { meanC: sum / n, rmseC: Math.sqrt(sq / n) };
}

// ---- many seeds ----

/** Mean and sample standard deviation over seeds (nulls left out). */
export interface Spread {
  mean: number | null;
  sd: number | null;
  n: number;
}

export function spread(values: readonly (number | null)[]): Spread {
  const known = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (known.length === 0) return { mean: null, sd: null, n: 0 };
  const mean = known.reduce((s, v) => s + v, 0) / known.length;
  const sd = known.length < 2 ? 0 : Math.sqrt(known.reduce((s, v) => s + (v - mean) ** 2, 0) / (known.length - 1));
  return { mean, sd, n: known.length };
}

export interface ScoreSpread {
  pod: Spread;
  far: Spread;
  csi: Spread;
  hits: Spread;
  misses: Spread;
  falseAlarms: Spread;
}

export function spreadOf(scores: readonly Score[]): ScoreSpread {
  return {
    pod: spread(scores.map((s) => s.pod)),
    far: spread(scores.map((s) => s.far)),
    csi: spread(scores.map((s) => s.csi)),
    hits: spread(scores.map((s) => s.hits)),
    misses: spread(scores.map((s) => s.misses)),
    falseAlarms: spread(scores.map((s) => s.falseAlarms)),
  };
}

/** The headline threshold: DEFAULT_PREALERT_RULES.minC. */
export const HEADLINE_MIN_C = DEFAULT_PREALERT_RULES.minC;

export interface PreAlertEvaluation {
  seeds: number[];
  scenarios: readonly ErrorScenario[];
  nights: { total: number; frost: number; nearMiss: number; airFrost: number; stations: string[] };
  /** Nights whose observed mean dew point fails the rule's dry test (> dryMaxDewPointC), by kind. */
  notDry: { frost: number; nearMiss: number; unknown: number };
  /** `${scenario}|${lead}|${variant}|${criteria}|${minC}` → the total score per seed. */
  totals: Map<string, Score[]>;
  /** `${scenario}|${lead}|${variant}|${station}` at HEADLINE_MIN_C, criteria `rule` → per seed. */
  byStation: Map<string, Score[]>;
  /** `${scenario}|${lead}|${variant}` → corrected-minimum error per seed. */
  errors: Map<string, { meanC: number; rmseC: number }[]>;
  /** `${scenario}|${lead}|${kind of learnt correction}` at HEADLINE_MIN_C, `rule`, variant learnt → per seed. */
  byStage: Map<string, Score[]>;
}

export const totalKey = (scenario: string, lead: Lead, variant: Variant, criteria: Criteria, minC: number): string =>
  `${scenario}|${lead}|${variant}|${criteria}|${minC}`;
export const stationKey = (scenario: string, lead: Lead, variant: Variant, station: string): string =>
  `${scenario}|${lead}|${variant}|${station}`;
export const errorKey = (scenario: string, lead: Lead, variant: Variant): string => `${scenario}|${lead}|${variant}`;
export const stageKey = (scenario: string, lead: Lead, stage: MinimumCorrection['kind']): string => `${scenario}|${lead}|${stage}`;

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  list.push(value);
}

export interface RunOptions {
  seeds?: readonly number[];
  scenarios?: readonly ErrorScenario[];
  minCs?: readonly number[];
  /** Called after each (scenario, seed); the runner prints it. */
  onProgress?: (done: number, total: number, label: string) => void;
}

/** Every scenario × seed: simulate, then score every lead × variant × criteria × threshold. */
export function runPreAlertEvaluation(nights: readonly PreAlertNight[], opts: RunOptions = {}): PreAlertEvaluation {
  const seeds = [...(opts.seeds ?? Array.from({ length: 20 }, (_, i) => i + 1))];
  const scenarios = opts.scenarios ?? SCENARIOS;
  const minCs = opts.minCs ?? MIN_C_SWEEP;
  const stations = [...new Set(nights.map((n) => n.station))].sort();
  const dryMax = DEFAULT_PREALERT_RULES.dryMaxDewPointC;
  const result: PreAlertEvaluation = {
    seeds,
    scenarios,
    nights: {
      total: nights.length,
      frost: nights.filter((n) => n.kind === 'frost').length,
      nearMiss: nights.filter((n) => n.kind === 'near_miss').length,
      airFrost: nights.filter((n) => n.kind === 'frost' && n.observedMinC <= 0).length,
      stations,
    },
    notDry: {
      frost: nights.filter((n) => n.kind === 'frost' && n.dewPointC !== null && n.dewPointC > dryMax).length,
      nearMiss: nights.filter((n) => n.kind === 'near_miss' && n.dewPointC !== null && n.dewPointC > dryMax).length,
      unknown: nights.filter((n) => n.dewPointC === null).length,
    },
    totals: new Map(),
    byStation: new Map(),
    errors: new Map(),
    byStage: new Map(),
  };
  const total = scenarios.length * seeds.length;
  let done = 0;
  for (const scenario of scenarios) {
    for (const seed of seeds) {
      const records = simulateRun(nights, scenario, seed);
      for (const lead of LEADS) {
        const atLead = records.filter((r) => r.lead === lead);
        for (const variant of VARIANTS) {
          push(result.errors, errorKey(scenario.id, lead, variant), correctionError(atLead, variant));
          for (const criteria of CRITERIA) {
            for (const minC of minCs) {
              push(result.totals, totalKey(scenario.id, lead, variant, criteria, minC), scoreRecords(atLead, { variant, criteria, minC }));
            }
          }
          const how: Judged = { variant, criteria: 'rule', minC: HEADLINE_MIN_C };
          for (const station of stations) {
            const mine = atLead.filter((r) => r.station === station);
            push(result.byStation, stationKey(scenario.id, lead, variant, station), scoreRecords(mine, how));
          }
        }
        for (const stage of ['prior', 'bias', 'linear'] as const) {
          const mine = atLead.filter((r) => r.corrections.learnt.kind === stage);
          const how: Judged = { variant: 'learnt', criteria: 'rule', minC: HEADLINE_MIN_C };
          push(result.byStage, stageKey(scenario.id, lead, stage), scoreRecords(mine, how));
        }
      }
      done += 1;
      opts.onProgress?.(done, total, `${scenario.id} seed ${seed}`);
    }
  }
  return result;
}

// ---- the report ----

const f2 = (x: number | null): string => (x === null ? '–' : x.toFixed(2));
const f1 = (x: number | null): string =>
  x === null
    ? '–'
    : x
        .toFixed(1)
        .replace(/^-(?=.*[1-9])/, '−')
        .replace(/^-/, '');
const pm = (s: Spread, digits = 2): string => {
  if (s.mean === null) return '–';
  const mean = digits === 2 ? f2(s.mean) : f1(s.mean);
  const sd = s.sd === null ? '' : ` ± ${digits === 2 ? f2(s.sd) : f1(s.sd)}`;
  return `${mean}${sd}`;
};
const thousands = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function scenarioBias(s: ErrorScenario): string {
  const bias = typeof s.biasC === 'number' ? `+${s.biasC} °C` : `+${s.biasC.min}…${s.biasC.max} °C per station`;
  const cold = s.coldGain === 0 ? '' : `, + ${s.coldGain} × (${s.coldRefC} °C − observed)`;
  return `${bias}${cold}`;
}

/** The lowest swept minC whose mean POD reaches `pod`, with its scores; null when none does. */
function thresholdFor(
  ev: PreAlertEvaluation,
  scenario: string,
  lead: Lead,
  variant: Variant,
  pod: number,
): { minC: number; r: ScoreSpread } | null {
  for (const minC of MIN_C_SWEEP) {
    const scores = ev.totals.get(totalKey(scenario, lead, variant, 'rule', minC));
    if (!scores) continue;
    const r = spreadOf(scores);
    if ((r.pod.mean ?? 0) >= pod) return { minC, r };
  }
  return null;
}

/** The findings in a few lines, computed from the evaluation (so they follow the numbers when it is re-run). */
function summaryLines(ev: PreAlertEvaluation, main: string): string[] {
  const has = (id: string): boolean => ev.scenarios.some((s) => s.id === id);
  if (!has(main) || !has('perfect')) return [];
  const at = (scenario: string, lead: Lead, variant: Variant, criteria: Criteria = 'rule'): ScoreSpread =>
    spreadOf(ev.totals.get(totalKey(scenario, lead, variant, criteria, HEADLINE_MIN_C)) ?? []);
  const pf = (r: ScoreSpread): string => `POD ${f2(r.pod.mean)}, FAR ${f2(r.far.mean)}`;
  const out = ['## Summary', ''];
  for (const lead of LEADS) {
    out.push(
      `- **${lead}, minC ${HEADLINE_MIN_C} °C, station bias 0.5–3 °C:** (a) raw ${pf(at(main, lead, 'raw'))}; (b) prior ${pf(at(main, lead, 'prior'))}; (c) learnt ${pf(at(main, lead, 'learnt'))}.`,
    );
  }
  const perfect = at('perfect', 'tonight', 'raw');
  out.push(
    `- Even a **perfect** forecast has FAR ${f2(perfect.far.mean)} at minC ${HEADLINE_MIN_C} °C: every near miss with a 2 m minimum of 1–${HEADLINE_MIN_C} °C counts as a false alarm. For coffee, whose leaves run about 2 °C below the screen (docs/frost-model.md), many of these are leaf frosts; the labels are 2 m air.`,
  );
  const equal = LEADS.flatMap((lead) => {
    const learnt = thresholdFor(ev, main, lead, 'learnt', 0.95);
    const raw = thresholdFor(ev, main, lead, 'raw', 0.95);
    const prior = thresholdFor(ev, main, lead, 'prior', 0.95);
    if (!learnt) return [];
    const other = (name: string, t: { minC: number; r: ScoreSpread } | null): string =>
      t ? `${name} needs minC ${t.minC} °C for it, at FAR ${f2(t.r.far.mean)}` : `${name} never reaches it`;
    return [
      `${lead}: the learnt correction reaches POD ≥ 0.95 at minC ${learnt.minC} °C with FAR ${f2(learnt.r.far.mean)}; ${other('the prior', prior)}, ${other('the raw forecast', raw)}`,
    ];
  });
  if (equal.length > 0) {
    out.push(
      `- **At equal detection** the correction matters only where the bias differs from the prior's 1.5 °C: ${equal.join('; ')}. With one bias everywhere (\`ecmwf\`) all three are the same curve, shifted.`,
    );
  }
  const stages = LEADS.map((lead) => {
    const first = spreadOf(ev.byStage.get(stageKey(main, lead, 'prior')) ?? []);
    const later = spreadOf(ev.byStage.get(stageKey(main, lead, 'linear')) ?? []);
    return `${lead} ${pf(first)} on a station's first nights (prior) against ${pf(later)} from 15 nights on`;
  });
  out.push(`- **Learning:** ${stages.join('; ')}.`);
  const ruleEqualsCold = [...ev.totals.keys()]
    .filter((k) => k.includes('|rule|'))
    .every((k) => {
      const a = spreadOf(ev.totals.get(k) ?? []);
      const b = spreadOf(ev.totals.get(k.replace('|rule|', '|cold|')) ?? []);
      return Math.abs((a.pod.mean ?? 0) - (b.pod.mean ?? 0)) < 0.005 && Math.abs((a.far.mean ?? 0) - (b.far.mean ?? 0)) < 0.005;
    });
  if (ruleEqualsCold) {
    out.push(
      `- The dry test (mean dew point ≤ ${DEFAULT_PREALERT_RULES.dryMaxDewPointC} °C) changed no score by 0.005: on these nights the decision is the cold test alone (clear and calm are assumed, see Method).`,
    );
  }
  out.push('');
  return out;
}

export interface ReportContext {
  dataSources: string;
  runtimeS: number;
  command: string;
  svgName?: string;
  /** What was searched for recorded forecasts, as Markdown paragraphs. */
  searchNote: string;
}

/** The evaluation as Markdown: what it is, the numbers, and what they can and cannot say. */
export function renderPreAlertReport(ev: PreAlertEvaluation, ctx: ReportContext): string {
  const totals = (scenario: string, lead: Lead, variant: Variant, criteria: Criteria, minC: number): ScoreSpread =>
    spreadOf(ev.totals.get(totalKey(scenario, lead, variant, criteria, minC)) ?? []);
  const main = 'station';
  const lines: string[] = [];
  const n = ev.nights;
  lines.push('# Afternoon pre-alert: evaluation in simulation');
  lines.push('');
  lines.push(
    `**This is a simulation, not a backtest of forecasts.** No recorded weather forecasts (or reanalysis) could be found for the shipped stations, so each real night's forecast minimum is synthesised from its *observed* minimum plus a warm bias and a random error of the size the literature reports for numerical 2 m night-time minima. What is real: the ${thousands(n.total)} labelled nights of ${n.stations.length} stations (their minima, dew points, dates and order) and the decision code itself (\`frost/forecast-night.ts\`: \`summariseNight\`, \`fitCorrection\`, \`judgeNight\`). What is assumed: the forecast's error, and a clear, calm sky on every night.`,
  );
  lines.push('');
  lines.push(
    `Regenerate: \`${ctx.command}\` (about ${Math.round(ctx.runtimeS)} s; ${ev.seeds.length} seeds × ${ev.scenarios.length} scenarios).`,
  );
  lines.push('');
  lines.push(...summaryLines(ev, main));
  lines.push('## Why a simulation');
  lines.push('');
  lines.push(ctx.searchNote);
  lines.push('');
  lines.push('## Method');
  lines.push('');
  lines.push(
    `- **Nights:** ${ctx.dataSources}: ${thousands(n.total)} nights, ${thousands(n.frost)} frost (2 m minimum ≤ 0 °C, or ground ≤ −2 °C; ${thousands(n.airFrost)} of them with 2 m air ≤ 0 °C) and ${thousands(n.nearMiss)} near misses (not frost, 2 m minimum 1–5 °C). Stations: ${n.stations.join(', ')}.`,
  );
  lines.push(
    `- **Synthetic forecast**, per night and lead: forecast minimum = observed minimum + bias b + error e, rounded to 0.1 °C. e ~ N(0, σ) drawn independently per night and lead: σ = ${SIGMA.tonight} °C for "tonight" (issued 16:00 local the same afternoon) and ${SIGMA.tomorrow} °C for "tomorrow" (issued 16:00 the afternoon before). b after the literature gathered for issue 16: the ECMWF Forecast User Guide (2 m temperature errors) gives night-time 2 m temperatures "about 1–2 °C too warm", with larger errors over orography and on very cold, stable nights; an evaluation of IFS, HIRLAM, AROME and GFS over Finland in winter (usually cited as Atlaskin & Vihma, QJRMS 2012) finds the bias growing as the night gets colder and the inversion stronger. σ is an assumption of that order (the same guide: errors "often don't depend strongly on the forecast range"; the simulation still lets them grow by a third a day ahead).`,
  );
  lines.push('- **Scenarios** (the headline is *station bias*):');
  for (const s of ev.scenarios)
    lines.push(`  - \`${s.id}\` — ${s.name}: b = ${scenarioBias(s)}; σ = ${s.sigmaC.tonight} / ${s.sigmaC.tomorrow} °C.`);
  lines.push(
    `- **The forecast's night:** 14 hourly values 18:00–07:00 local (\`summariseNight\`), cooling to the synthetic minimum at the hour of the observed minimum (held inside the window). Dew point = the night's observed mean (measured, else from RH by Magnus), with no forecast error. **Cloud 0 % and wind 0 m/s on every night**: none of the shipped sets has cloud or wind, so the *clear* and *calm* tests always pass and are **not evaluated**; "rule" below is therefore *cold + dry*, and "cold only" drops the dry test too. On the observed dew points ${ev.notDry.frost} frost and ${ev.notDry.nearMiss} near-miss nights fail the dry test (dew point > ${DEFAULT_PREALERT_RULES.dryMaxDewPointC} °C)${ev.notDry.unknown > 0 ? `; ${ev.notDry.unknown} nights have no dew point and never pass it` : ''}.`,
  );
  lines.push(
    `- **Corrections:** (a) none — the raw forecast minimum; (b) the prior, observed ≈ ${PRIOR_CORRECTION.alpha} + ${PRIOR_CORRECTION.beta} · forecast; (c) \`fitCorrection\` learnt per station and lead, chronologically: a night's pre-alert uses only the earlier nights of its station whose minimum had been observed (window ended sunrise + 3 h) before the pre-alert went out, so "tomorrow" never learns from the night before. The first 4 nights of a station use the prior, 5–14 a shrunk bias, 15+ a line.`,
  );
  lines.push(
    `- **Scores**, per lead: a *hit* is a frost night pre-alerted, a *miss* a frost night not pre-alerted, a *false alarm* a near-miss night pre-alerted. POD = H/(H+M), FAR = FA/(H+FA), CSI = H/(H+M+FA). Crop shift 0 (the labels are 2 m air). Mean ± sd over ${ev.seeds.length} seeds (${ev.seeds[0]}…${ev.seeds[ev.seeds.length - 1]}).`,
  );
  lines.push('');
  lines.push('## What this can and cannot show');
  lines.push('');
  lines.push(
    '- **FAR is relative to near misses, not to all nights.** The datasets hold only frost and near-miss nights (1–5 °C). Warm nights, which a real season is mostly made of, would be pre-alerted only when the forecast is ≥ ~3–5 °C too cold — rare — but they are not in the sample, so the false-alarm count per season is not estimated here, and FAR here is a hard test (every negative is a near miss).',
  );
  lines.push(
    '- It shows how much a **station-learnt correction** recovers when the forecast is biased, how fast it learns, and the POD/FAR trade-off of the threshold `minC` **under the assumed error**. The numbers move with σ and b; the ranking of (a)/(b)/(c) and the shape of the sweep are the robust part.',
  );
  lines.push(
    '- It cannot show real skill: real forecast errors are correlated from night to night and between leads, larger on some weather types (fog, snow cover, cold-air pools), and cloud/wind forecasts fail too — a wrongly forecast cloud deck misses a frost that no minimum correction can recover. The clear/calm tests are assumed to pass, so **real POD will be lower** on advective or cloudy frost nights (many München and DWD winter frosts are not radiative).',
  );
  lines.push(
    "- The correction is learnt only on labelled (cold) nights; a real station also learns from warm nights with a forecast minimum ≤ 10 °C, which changes the fitted line's slope (the regression shrinks towards the learning sample's mean).",
  );
  lines.push('');
  lines.push(`## Headline: threshold minC = ${HEADLINE_MIN_C} °C`);
  lines.push('');
  lines.push('Rule = cold + dry (clear and calm assumed). Mean ± sd over seeds; H / M / FA are mean counts.');
  lines.push('');
  lines.push('| scenario | lead | correction | POD | FAR | CSI | H / M / FA | POD, cold only | FAR, cold only |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const s of ev.scenarios) {
    for (const lead of LEADS) {
      for (const variant of VARIANTS) {
        const r = totals(s.id, lead, variant, 'rule', HEADLINE_MIN_C);
        const c = totals(s.id, lead, variant, 'cold', HEADLINE_MIN_C);
        const counts = `${f1(r.hits.mean)} / ${f1(r.misses.mean)} / ${f1(r.falseAlarms.mean)}`;
        lines.push(
          `| ${s.id} | ${lead} | ${VARIANT_NAMES[variant]} | ${pm(r.pod)} | ${pm(r.far)} | ${pm(r.csi)} | ${counts} | ${pm(c.pod)} | ${pm(c.far)} |`,
        );
      }
    }
  }
  lines.push('');
  lines.push(
    'A fixed minC is not an equal footing: a correction moves the effective threshold (the raw forecast, b °C too warm, at minC = 2 °C alerts on true minima ≤ about 2 − b). So the next table compares the variants at equal detection: the lowest swept minC whose mean POD reaches 0.95, the FAR there, and the best CSI over the sweep.',
  );
  lines.push('');
  lines.push('| scenario | lead | correction | minC for POD ≥ 0.95 | POD / FAR there | best CSI (at minC) |');
  lines.push('| --- | --- | --- | --- | --- | --- |');
  for (const s of ev.scenarios) {
    if (s.id === 'perfect') continue;
    for (const lead of LEADS) {
      for (const variant of VARIANTS) {
        const sweep = MIN_C_SWEEP.filter((m) => ev.totals.has(totalKey(s.id, lead, variant, 'rule', m))).map((minC) => ({
          minC,
          r: totals(s.id, lead, variant, 'rule', minC),
        }));
        const reach = sweep.find((p) => (p.r.pod.mean ?? 0) >= 0.95);
        const best = sweep.reduce<(typeof sweep)[number] | undefined>(
          (b, p) => (b === undefined || (p.r.csi.mean ?? 0) > (b.r.csi.mean ?? 0) ? p : b),
          undefined,
        );
        const at = reach ? `${reach.minC.toFixed(1)} °C` : 'not reached';
        const there = reach ? `${pm(reach.r.pod)} / ${pm(reach.r.far)}` : '–';
        const csi = best ? `${pm(best.r.csi)} (${best.minC.toFixed(1)} °C)` : '–';
        lines.push(`| ${s.id} | ${lead} | ${VARIANT_NAMES[variant]} | ${at} | ${there} | ${csi} |`);
      }
    }
  }
  lines.push('');
  lines.push('## The corrected minimum against the observed one');
  lines.push('');
  lines.push('Mean error (corrected − observed; positive = too warm) and RMSE, °C, over all nights; mean ± sd over seeds.');
  lines.push('');
  lines.push(`| scenario | lead | ${VARIANTS.map((v) => `${VARIANT_NAMES[v]}: mean / RMSE`).join(' | ')} |`);
  lines.push(`| --- | --- | ${VARIANTS.map(() => '---').join(' | ')} |`);
  for (const s of ev.scenarios) {
    for (const lead of LEADS) {
      const cells = VARIANTS.map((v) => {
        const errs = ev.errors.get(errorKey(s.id, lead, v)) ?? [];
        return `${pm(spread(errs.map((e) => e.meanC)), 1)} / ${pm(spread(errs.map((e) => e.rmseC)), 1)}`;
      });
      lines.push(`| ${s.id} | ${lead} | ${cells.join(' | ')} |`);
    }
  }
  lines.push('');
  lines.push(`## Threshold sweep (scenario \`${main}\`, rule)`);
  lines.push('');
  if (ctx.svgName) {
    lines.push(`![POD against FAR as minC goes from 0 to 4 °C](${ctx.svgName})`);
    lines.push('');
  }
  for (const lead of LEADS) {
    lines.push(`### ${lead}`);
    lines.push('');
    lines.push(`| minC °C | ${VARIANTS.map((v) => `${VARIANT_NAMES[v]} POD / FAR`).join(' | ')} | perfect forecast POD / FAR |`);
    lines.push(`| --- | ${VARIANTS.map(() => '---').join(' | ')} | --- |`);
    for (const minC of MIN_C_SWEEP) {
      if (!ev.totals.has(totalKey(main, lead, 'raw', 'rule', minC))) continue;
      const cells = VARIANTS.map((v) => {
        const r = totals(main, lead, v, 'rule', minC);
        return `${pm(r.pod)} / ${pm(r.far)}`;
      });
      const p = totals('perfect', lead, 'raw', 'rule', minC);
      lines.push(`| ${minC.toFixed(1)} | ${cells.join(' | ')} | ${f2(p.pod.mean)} / ${f2(p.far.mean)} |`);
    }
    lines.push('');
  }
  lines.push(`## By station (scenario \`${main}\`, rule, minC = ${HEADLINE_MIN_C} °C)`);
  lines.push('');
  lines.push(
    "Mean ± sd over seeds; each seed draws a new bias per station, so a row averages over biases of 0.5–3 °C. A station's FAR depends on its mix of frost and near-miss nights (second column): Tucson's is high because it has few frosts.",
  );
  lines.push('');
  lines.push(`| station | frost / near-miss nights | lead | ${VARIANTS.map((v) => `${VARIANT_NAMES[v]} POD / FAR`).join(' | ')} |`);
  lines.push(`| --- | --- | --- | ${VARIANTS.map(() => '---').join(' | ')} |`);
  for (const station of n.stations) {
    for (const lead of LEADS) {
      const sample = ev.byStation.get(stationKey(main, lead, 'raw', station))?.[0];
      const counts = sample ? `${sample.hits + sample.misses} / ${sample.falseAlarms + sample.correctNegatives}` : '–';
      const cells = VARIANTS.map((v) => {
        const r = spreadOf(ev.byStation.get(stationKey(main, lead, v, station)) ?? []);
        return `${pm(r.pod)} / ${pm(r.far)}`;
      });
      lines.push(`| ${station} | ${counts} | ${lead} | ${cells.join(' | ')} |`);
    }
  }
  lines.push('');
  lines.push(`## How fast the correction learns (scenario \`${main}\`, rule, minC = ${HEADLINE_MIN_C} °C, variant (c))`);
  lines.push('');
  lines.push(
    'Nights grouped by the correction they were judged with: the prior (fewer than 5 earlier nights), a shrunk bias (5–14), a line (15+).',
  );
  lines.push('');
  lines.push('| lead | correction used | nights (mean) | POD | FAR |');
  lines.push('| --- | --- | --- | --- | --- |');
  for (const lead of LEADS) {
    for (const stage of ['prior', 'bias', 'linear'] as const) {
      const scores = ev.byStage.get(stageKey(main, lead, stage)) ?? [];
      const r = spreadOf(scores);
      const nightsMean = spread(scores.map((s) => s.hits + s.misses + s.falseAlarms + s.correctNegatives)).mean;
      lines.push(`| ${lead} | ${stage} | ${f1(nightsMean)} | ${pm(r.pod)} | ${pm(r.far)} |`);
    }
  }
  lines.push('');
  return lines.join('\n');
}

// ---- the picture: POD against FAR along the threshold sweep ----

const WIDTH = 800;
const HEIGHT = 420;
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
const GRID = '#e3e3e3';
const AXIS = '#555';
const MUTED = '#888';
const COLOURS: Readonly<Record<Variant | 'perfect', string>> = {
  learnt: '#c0392b',
  learntBias: '#8e44ad',
  prior: '#e67e22',
  raw: '#4a6fa5',
  perfect: '#555',
};
const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (t: string): string => t.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
const n1 = (x: number): string => String(Math.round(x * 10) / 10);
const svgText = (x: number, y: number, body: string, attrs = ''): string =>
  `<text x="${n1(x)}" y="${n1(y)}"${attrs ? ` ${attrs}` : ''}>${esc(body)}</text>`;
const svgLine = (x1: number, y1: number, x2: number, y2: number, attrs: string): string =>
  `<line x1="${n1(x1)}" y1="${n1(y1)}" x2="${n1(x2)}" y2="${n1(y2)}" ${attrs}/>`;

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

function sweepPanel(ev: PreAlertEvaluation, scenario: string, lead: Lead, box: Box, far: { hi: number }, pod: { lo: number }): string[] {
  const x = (v: number): number => box.left + (v / far.hi) * box.width;
  const y = (v: number): number => box.top + ((1 - v) / (1 - pod.lo)) * box.height;
  const out: string[] = [
    svgText(
      box.left,
      box.top - 14,
      lead === 'tonight' ? 'tonight (issued 16:00 the same day)' : 'tomorrow night (issued 16:00 the day before)',
      'font-weight="bold"',
    ),
  ];
  for (let t = 0; t <= far.hi + 1e-9; t += 0.1) {
    out.push(svgLine(x(t), box.top, x(t), box.top + box.height, `stroke="${GRID}"`));
    out.push(svgText(x(t), box.top + box.height + 15, t.toFixed(1), 'text-anchor="middle"'));
  }
  for (let t = pod.lo; t <= 1 + 1e-9; t += 0.1) {
    out.push(svgLine(box.left, y(t), box.left + box.width, y(t), `stroke="${GRID}"`));
    out.push(svgText(box.left - 6, y(t) + 4, t.toFixed(1), 'text-anchor="end"'));
  }
  out.push(`<rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}" fill="none" stroke="${AXIS}"/>`);
  out.push(svgText(box.left + box.width / 2, box.top + box.height + 32, 'false-alarm ratio (against near misses)', 'text-anchor="middle"'));
  const midY = box.top + box.height / 2;
  out.push(svgText(box.left - 36, midY, 'POD', `text-anchor="middle" transform="rotate(-90 ${n1(box.left - 36)} ${n1(midY)})"`));
  const curves: { key: Variant | 'perfect'; scenario: string; variant: Variant }[] = [
    { key: 'perfect', scenario: 'perfect', variant: 'raw' },
    { key: 'raw', scenario, variant: 'raw' },
    { key: 'prior', scenario, variant: 'prior' },
    { key: 'learnt', scenario, variant: 'learnt' },
  ];
  for (const c of curves) {
    const pts = MIN_C_SWEEP.flatMap((minC) => {
      const r = spreadOf(ev.totals.get(totalKey(c.scenario, lead, c.variant, 'rule', minC)) ?? []);
      return r.pod.mean !== null && r.far.mean !== null ? [{ minC, px: x(r.far.mean), py: y(Math.max(pod.lo, r.pod.mean)) }] : [];
    });
    const colour = COLOURS[c.key];
    const dash = c.key === 'perfect' ? ' stroke-dasharray="4 3"' : '';
    out.push(
      `<polyline points="${pts.map((p) => `${n1(p.px)},${n1(p.py)}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="1.5"${dash}/>`,
    );
    for (const p of pts) {
      const headline = p.minC === HEADLINE_MIN_C;
      out.push(`<circle cx="${n1(p.px)}" cy="${n1(p.py)}" r="${headline ? 5 : 2.5}" fill="${colour}" stroke="#fff" stroke-width="1"/>`);
      if (c.key === 'learnt' && Number.isInteger(p.minC)) {
        out.push(svgText(p.px + 6, p.py + 12, `${p.minC}`, `font-size="10" fill="${colour}"`));
      }
    }
  }
  return out;
}

/** POD against FAR as minC sweeps 0…4 °C, one panel per lead, the three corrections and the perfect forecast. */
export function renderPreAlertSvg(ev: PreAlertEvaluation, scenario = 'station'): string {
  const points = LEADS.flatMap((lead) =>
    ['perfect', scenario].flatMap((s) =>
      VARIANTS.flatMap((v) => MIN_C_SWEEP.map((minC) => spreadOf(ev.totals.get(totalKey(s, lead, v, 'rule', minC)) ?? []))),
    ),
  );
  const farHi = Math.min(1, Math.ceil(Math.max(0.1, ...points.map((p) => p.far.mean ?? 0)) * 10) / 10);
  const podLo = Math.max(0, Math.floor(Math.min(0.9, ...points.map((p) => p.pod.mean ?? 1)) * 10) / 10);
  const boxA: Box = { left: 80, top: 50, width: 300, height: 260 };
  const boxB: Box = { left: 470, top: 50, width: 300, height: 260 };
  const legend = (['learnt', 'prior', 'raw', 'perfect'] as const).map((k, i) => {
    const lx = 70 + i * 168;
    const name = k === 'perfect' ? 'perfect forecast (reference)' : VARIANT_NAMES[k];
    const dash = k === 'perfect' ? ' stroke-dasharray="4 3"' : '';
    return `${svgLine(lx, 372, lx + 22, 372, `stroke="${COLOURS[k]}" stroke-width="2"${dash}`)}${svgText(lx + 28, 376, name, `fill="${COLOURS[k]}"`)}`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${FONT}" font-size="12" fill="#222">`,
    '<title>pre-alert in simulation: POD against false-alarm ratio as minC goes from 0 to 4 °C</title>',
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    ...sweepPanel(ev, scenario, 'tonight', boxA, { hi: farHi }, { lo: podLo }),
    ...sweepPanel(ev, scenario, 'tomorrow', boxB, { hi: farHi }, { lo: podLo }),
    ...legend,
    svgText(
      80,
      400,
      `SIMULATION (scenario "${scenario}"): synthetic forecast minima; numbers on the red curve are minC (°C); large dots: minC = ${HEADLINE_MIN_C} °C.`,
      `font-size="10" fill="${MUTED}"`,
    ),
    '</svg>',
    '',
  ].join('\n');
}

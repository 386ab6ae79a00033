import type { DecisionInputs, FrostDecision } from '../../contracts/index.js';

/** A night at a station in Đạ Sar, local time UTC+7, sunset 17:46, minimum expected at 05:50. */
const local = (day: number, hh: number, mm: number) => Date.UTC(2026, 0, day, hh - 7, mm);
export const SUNSET = local(15, 17, 46);
export const MIN_AT = local(16, 5, 50);

const base: DecisionInputs = {
  readingTs: 0,
  airTempC: null,
  rhPct: 90,
  windMs: 0.6,
  dewPointC: 0.5,
  frostPointC: 0.4,
  wetBulbC: 1,
  leafEstC: null,
  trendCPerH: null,
  nowcastMinC: null,
  forecastMinC: null,
  forecastMinAtMs: MIN_AT,
  sunsetMs: SUNSET,
  sunriseMs: MIN_AT,
  radiative: true,
  batteryV: 3.9,
};

export type Level = FrostDecision['to'];

/** One realistic decision per level (temperatures of the station, before any farm offset). */
export const DECISIONS: Record<Level, Pick<FrostDecision, 'to' | 'atMs' | 'inputs'>> = {
  watch: {
    to: 'watch',
    atMs: local(15, 17, 30),
    inputs: { ...base, readingTs: local(15, 17, 30), airTempC: 11.4, trendCPerH: -1.2, forecastMinC: 3.1 },
  },
  warning: {
    to: 'warning',
    atMs: local(15, 22, 40),
    inputs: { ...base, readingTs: local(15, 22, 40), airTempC: 4.6, trendCPerH: -0.6, forecastMinC: 1.2, nowcastMinC: 1.6 },
  },
  severe: {
    to: 'severe',
    atMs: local(16, 2, 50),
    inputs: {
      ...base,
      readingTs: local(16, 2, 50),
      airTempC: 2.1,
      trendCPerH: -0.5,
      forecastMinC: -0.8,
      nowcastMinC: -0.4,
      leafEstC: -0.9,
    },
  },
  all_clear: {
    to: 'all_clear',
    atMs: local(16, 7, 20),
    inputs: { ...base, readingTs: local(16, 7, 20), airTempC: 6.3, trendCPerH: 2.4, forecastMinC: -0.8 },
  },
};

export const LEVELS: Level[] = ['watch', 'warning', 'severe', 'all_clear'];
export const STATION = { name: 'Đạ Sar 01', commune: 'Đạ Sar' };
export const STATION_OTHER_COMMUNE = { name: 'Vườn ông Ha', commune: 'Lát' };

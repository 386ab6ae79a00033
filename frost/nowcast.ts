import type { SampleWindow } from './sample-window.js';
import { fitValidAir } from './window-stats.js';

const HOUR_MS = 3_600_000;
/** Fewest readings for a curve: an hour of 10-min data gives 6–7; 4 leaves room for a lost reading or two. */
const MIN_POINTS = 4;

export interface Nowcast {
  minC: number;
  /** When the minimum is expected: sunrise when still cooling, else now. */
  atMs: number;
}

/**
 * Nowcast of the night's minimum (docs/frost-model.md): fit T = α + β·√t (t hours since sunset — the FFST shape) to the valid
 * readings of the last 60–120 min, extrapolate to sunrise, and floor at dew point − `floorBelowDewC`: once the air
 * reaches saturation, dew or hoar frost releases latent heat and the fall slows (FAO FFST ch. 5).
 * Null before the window spans `minSpanMs` of night. `window` is the engine's (sorted by ts, QC flags on each sample;
 * only valid samples count), and window[…, hi) holds none after t.
 */
export function nowcastMin(
  window: SampleWindow,
  hi: number,
  t: number,
  sunsetMs: number,
  sunriseMs: number,
  dewPointC: number | null,
  opts: { minSpanMs: number; maxSpanMs: number; floorBelowDewC: number },
): Nowcast | null {
  if (t <= sunsetMs || t >= sunriseMs) return null;
  const from = Math.max(t - opts.maxSpanMs, sunsetMs);
  const x = (ms: number): number => Math.sqrt((ms - sunsetMs) / HOUR_MS);
  const { fit, n, firstTs } = fitValidAir(window, window.lowerBound(from), hi, x);
  if (!fit || n < MIN_POINTS || t - firstTs < opts.minSpanMs) return null;
  const atNow = fit.intercept + fit.slope * x(t);
  const atSunrise = fit.intercept + fit.slope * x(sunriseMs);
  const cooling = atSunrise < atNow;
  const raw = cooling ? atSunrise : atNow;
  const floor = dewPointC === null ? -Infinity : dewPointC - opts.floorBelowDewC;
  return { minC: Math.max(raw, floor), atMs: cooling ? sunriseMs : t };
}

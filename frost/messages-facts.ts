import type { FrostDecision, Language } from '../contracts/index.js';
import { formatClock, formatRate, formatTemp, type ComposedSms } from './messages-format.js';
import type { FarmerFacts, FarmerLevel } from './messages-text.js';

/** Options and the facts a farmer message states, shared by the SMS and the voice script. */
/**
 * PLACEHOLDER, an estimate only: USD per outbound SMS segment to Vietnam. Twilio's price for Vietnam changes and
 * depends on the sender; look it up (twilio.com/en-us/sms/pricing/vn, or the Pricing API) and pass the real
 * one as `smsCostUsdPerSegment`. Only the cost shown on the dashboard depends on it.
 */
export const DEFAULT_SMS_COST_USD_PER_SEGMENT = 0.08;

/** A Vietnamese SMS with diacritics may take 3 UCS-2 segments (201 characters); a GSM-7 one 2 (306). */
export const MAX_SEGMENTS: Record<ComposedSms['encoding'], number> = { 'UCS-2': 3, 'GSM-7': 2 };

/**
 * Air temperature (°C, at the farm) by which the protective work should be done. With the default leaf offset of
 * 3 °C (docs/frost-model.md, leaves ~2–4 °C colder than air on radiative nights): air 3 °C ≈ leaf 0 °C, ice starts to form;
 * air 1 °C ≈ leaf −2 °C, where arabica leaf damage starts (SBICafé field study; Caramori et al. 2001).
 */
export const DEFAULT_ACT_BY_AIR_C = { warning: 3, severe: 1 } as const;

export interface MessageOptions {
  /** IANA zone of the farms' clocks (TZ_NAME). */
  timeZone: string;
  smsCostUsdPerSegment: number;
  actByAirC: { warning: number; severe: number };
  /** How a farmer's message says to stop (messages-choices.ts): reply words, or the officer. */
  stopHint: 'reply' | 'officer';
}

export const DEFAULT_MESSAGE_OPTIONS: MessageOptions = {
  timeZone: 'Asia/Ho_Chi_Minh',
  smsCostUsdPerSegment: DEFAULT_SMS_COST_USD_PER_SEGMENT,
  actByAirC: DEFAULT_ACT_BY_AIR_C,
  stopHint: 'officer',
};

export interface FarmerMessageInput {
  decision: Pick<FrostDecision, 'to' | 'atMs' | 'inputs'>;
  station: { name: string; commune: string };
  language: Language;
  /** false: the GSM-7 text without diacritics. */
  diacritics: boolean;
  /** The farm is this much warmer (+) or colder (−) than the station; added to every temperature shown. */
  offsetC?: number;
  /** When the rule engine knows better when work must be done; otherwise estimated from the inputs. */
  actByMs?: number | null;
}

/** A trend smaller than this is noise at 5-minute medians: not worth the characters. */
const TREND_SHOWN_C_PER_H = 0.3;
/** Less than this before the deadline: say "now", not a time that has as good as passed. */
const DEADLINE_MIN_LEAD_MS = 20 * 60_000;
const ROUND_DEADLINE_MS = 10 * 60_000;
/** A night is at most ~13 h: a deadline further out is an artefact of a near-zero cooling rate. */
const MAX_DEADLINE_AHEAD_MS = 14 * 3_600_000;

export function farmerFacts(input: FarmerMessageInput, opts: MessageOptions): FarmerFacts {
  const { decision, language } = input;
  const { inputs } = decision;
  const offset = input.offsetC ?? 0;
  const level: FarmerLevel = decision.to;
  const temp = inputs.airTempC === null ? null : inputs.airTempC + offset;
  const min = level === 'all_clear' ? null : expectedMinimum(inputs);
  const trend = inputs.trendCPerH;
  const deadline = actByDeadlineMs(input, opts);
  const station = input.station.name.normalize('NFC').trim();
  const commune = input.station.commune.normalize('NFC').trim();
  return {
    level,
    station,
    commune: commune === '' || station.toLocaleLowerCase('vi').includes(commune.toLocaleLowerCase('vi')) ? null : commune,
    readingClock: formatClock(decision.atMs, opts.timeZone),
    temp: temp === null ? null : formatTemp(temp, language),
    farmEstimate: offset !== 0,
    trend:
      trend !== null && Math.abs(trend) >= TREND_SHOWN_C_PER_H
        ? { direction: trend < 0 ? 'falling' : 'rising', rate: formatRate(trend, language) }
        : null,
    min: min === null ? null : formatTemp(min + offset, language),
    minClock: level === 'all_clear' || inputs.forecastMinAtMs === null ? null : formatClock(inputs.forecastMinAtMs, opts.timeZone),
    actBy: deadline === null ? null : formatClock(deadline, opts.timeZone),
  };
}

/** The lower of the overnight forecast and the nowcast: a warning errs on the cold side. */
export function expectedMinimum(inputs: FrostDecision['inputs']): number | null {
  const candidates = [inputs.forecastMinC, inputs.nowcastMinC].filter((v): v is number => v !== null);
  return candidates.length === 0 ? null : Math.min(...candidates);
}

/** The "before HH:MM" of a Warning or Severe, rounded down to 10 minutes; null when unknown or already due. */
export function actByDeadlineMs(input: FarmerMessageInput, opts: MessageOptions): number | null {
  const level = input.decision.to;
  if (level !== 'warning' && level !== 'severe') return null;
  const atMs = input.decision.atMs;
  const deadline = input.actByMs !== undefined ? input.actByMs : estimateActByMs(input.decision, input.offsetC ?? 0, opts.actByAirC[level]);
  // A vanishing cooling rate puts the crossing at infinity: no time worth printing.
  if (deadline === null || !Number.isFinite(deadline)) return null;
  // Past the expected minimum (sunrise) the farm is not going to get there tonight.
  if (deadline > (input.decision.inputs.forecastMinAtMs ?? atMs + MAX_DEADLINE_AHEAD_MS)) return null;
  const rounded = Math.floor(deadline / ROUND_DEADLINE_MS) * ROUND_DEADLINE_MS;
  return rounded - atMs < DEADLINE_MIN_LEAD_MS ? null : rounded;
}

/**
 * When the farm's air is expected to reach `thresholdC`: the earlier of two estimates, so the advice errs early.
 * (1) The current cooling rate carried on. (2) The night's curve through now and the expected minimum: FAO FFST
 * (Snyder & de Melo-Abreu 2005 ch. 5) has T(i) = a + b·√(i − 2), i hours after sunset; without a sunset, a straight
 * line. `atMs` when it is already there; null when nothing says it will get there.
 */
export function estimateActByMs(decision: Pick<FrostDecision, 'atMs' | 'inputs'>, offsetC: number, thresholdC: number): number | null {
  const { atMs, inputs } = decision;
  if (inputs.airTempC === null) return null;
  const now = inputs.airTempC + offsetC;
  if (now <= thresholdC) return atMs;
  const candidates: number[] = [];
  if (inputs.trendCPerH !== null && inputs.trendCPerH < 0) candidates.push(atMs + ((now - thresholdC) / -inputs.trendCPerH) * HOUR_MS);
  const min = expectedMinimum(inputs);
  const minAt = inputs.forecastMinAtMs;
  if (min !== null && minAt !== null && minAt > atMs && min + offsetC < thresholdC) {
    candidates.push(curveCrossingMs({ atMs, tempC: now }, { atMs: minAt, tempC: min + offsetC }, thresholdC, inputs.sunsetMs));
  }
  const finite = candidates.filter(Number.isFinite);
  return finite.length === 0 ? null : Math.min(...finite);
}

const HOUR_MS = 3_600_000;

/** Where the cooling curve from `from` to `to` crosses `thresholdC` (strictly between them by construction). */
function curveCrossingMs(
  from: { atMs: number; tempC: number },
  to: { atMs: number; tempC: number },
  thresholdC: number,
  sunsetMs: number | null,
): number {
  const fraction = (from.tempC - thresholdC) / (from.tempC - to.tempC);
  if (sunsetMs === null || sunsetMs >= from.atMs) return from.atMs + fraction * (to.atMs - from.atMs);
  // √(i − 2) is linear in temperature along the curve; before i = 2 the curve is flat at its start, so clamp.
  const root = (ms: number) => Math.sqrt(Math.max(0, (ms - sunsetMs) / HOUR_MS - 2));
  const r0 = root(from.atMs);
  const r1 = root(to.atMs);
  if (r1 <= r0) return from.atMs + fraction * (to.atMs - from.atMs);
  const r = r0 + fraction * (r1 - r0);
  return Math.max(from.atMs, sunsetMs + (r * r + 2) * HOUR_MS);
}

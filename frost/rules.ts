import type { Crop, DevicePreset, StationSource } from '../contracts/index.js';

/** What the rules need to know of a station's device. */
export interface StationDevice {
  source?: StationSource;
  preset?: DevicePreset | null;
}
import { DEFAULT_MINIMUM_MODEL } from './minimum-default.js';
import type { MinimumModel } from './minimum-model.js';
import type { FfstModel } from './types.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/** WMO-No. 305 (Guide on the GDPS) / Zahumenský 2004, "Guidelines on quality control procedures". */
export interface QcRules {
  minAirC: number;
  maxAirC: number;
  maxStepCPerMin: number;
  stuckWindowMs: number;
  stuckDeltaC: number;
  /** Tolerance before "dew point ≤ air" fails (sensor RH may read a little over 100 %). */
  dewSlackC: number;
  /** A sensor fault clears after this long without a failed reading. */
  faultClearMs: number;
}

/** Thresholds are air temperature at screen height (1.5–2 m), already shifted for the crop. */
export interface Rules {
  crop: Crop;
  cropShiftC: number;
  watchForecastMinC: number;
  watchDewPointC: number;
  warningMinC: number;
  severeForecastMinC: number;
  severeAirC: number;
  severeFallCPerH: number;
  severeLeafC: number;
  allClearAirC: number;
  hysteresisC: number;
  holdMs: number;
  repeatSuppressMs: number;
  lateAfterMs: number;
  watchStartHour: number;
  watchEndHour: number;
  radiativeWindMs: number;
  windStopsCoolingMs: number;
  nightClearHoldMs: number;
  allClearAnywayAfterSunriseMs: number;
  leafOffsetC: number;
  /** The night's minimum from any reading (minimum-model.ts); the default is fitted on real nights of several stations. */
  minimumModel: MinimumModel;
  /** Warning and Severe act on the forecast plus this many standard deviations of its error (0: the expected minimum). */
  forecastMarginSd: number;
  /** Severe acts on the forecast plus this many standard deviations of its error (at least forecastMarginSd). */
  severeMarginSd: number;
  /** Weight of the latest night in a station's learnt forecast error (calibration.ts). */
  calibrationWeight: number;
  /** A station's learnt error counts n / (n + this) after n nights. */
  calibrationPriorNights: number;
  /** Only hours whose forecast was at most this cold-ish teach the calibration. */
  calibrationMaxForecastC: number;
  /** A station's own FFST, fitted by `frostwatch model fit` on its nights: used from T₂ on instead of the model. */
  ffst: FfstModel | null;
  nowcastFloorBelowDewC: number;
  nowcastMinSpanMs: number;
  nowcastMaxSpanMs: number;
  trendWindowMs: number;
  sampleIntervalMs: number;
  maxSampleIntervalMs: number;
  offlineMissingMs: number;
  offlineClearFraction: number;
  lowBatteryV: number;
  batteryClearV: number;
  fastSamplingAfterSunriseMs: number;
  qc: QcRules;
}

export type RuleOverrides = Partial<Omit<Rules, 'qc' | 'crop' | 'cropShiftC'>> & { qc?: Partial<QcRules> };

/**
 * How much warmer the ladder triggers for each crop.
 * - arabica: the reference; leaf damage from −2 °C, general −3 °C, lethal −4 °C (SBICafé field study; IAPAR;
 *   Caramori et al. 2001), i.e. about 0 °C at screen height with the ~2–3 °C leaf-to-air offset.
 * - robusta: "thresholds 1–2 °C warmer" (docs/frost-model.md, after the same sources) → the middle, 1.5 °C.
 * - young trees: their leaves sit at 0.3–1 m, in the coldest layer of the night inversion; on the DWD München
 *   frost nights (tests/fixtures/frost-nights) the 5 cm air ran a median 1.75 K below 2 m, so half of that
 *   layer difference, +1 °C, is a conservative shift until a station is calibrated.
 */
export const CROP_SHIFT_C: Record<Crop, number> = { arabica: 0, robusta: 1.5, young: 1 };

const ARABICA: Omit<Rules, 'crop' | 'cropShiftC'> = {
  watchForecastMinC: 4, // docs/frost-model.md ladder: Watch when the forecast minimum ≤ 4 °C
  watchDewPointC: 2, // docs/frost-model.md ladder: or dew point ≤ 2 °C (the night cannot stay above Td for long; FAO FFST ch. 5)
  warningMinC: 0.5, // forecast minimum ≤ 0.5 °C → leaves −1.5…−2.5 °C with the 2–3 °C offset, where arabica damage starts (−2 °C); was 2 °C, moved on real nights (docs/frost-model.md)
  severeForecastMinC: 0, // docs/frost-model.md: ≤ 0 °C at 2 m ≈ −2…−3 °C on leaves, arabica damage (SBICafé; Caramori et al. 2001)
  severeAirC: 0.5, // air at the Warning threshold and still falling ≥ 0.5 °C/h (was 1.5 °C; it fired on near misses, docs/frost-model.md)
  severeFallCPerH: 0.5, // docs/frost-model.md: cooling of at least 0.5 °C/h
  severeLeafC: 0, // docs/frost-model.md: a leaf sensor at ≤ 0 °C; ice forms on leaves (FAO FFST ch. 2)
  allClearAirC: 4, // docs/frost-model.md: all clear after sunrise with air > 4 °C and rising
  hysteresisC: 0.5, // anti-flap band: two DWD 0.1 °C resolution steps plus sensor noise (±0.2 °C class-B thermistors)
  holdMs: 3 * MINUTE_MS, // anti-flap: 3 min of readings (docs/frost-model.md: 3 at 1 min; one reading stands for ≥ 3 min)
  repeatSuppressMs: 6 * HOUR_MS, // docs/frost-model.md: no repeat of the same level for hours
  lateAfterMs: 10 * MINUTE_MS, // older than this when evaluated → recorded, not notified
  watchStartHour: 15, // docs/frost-model.md: Watch window 15:00–19:00 local
  watchEndHour: 19,
  radiativeWindMs: 2, // FAO FFST ch. 5: radiative nights have wind < 2 m/s
  windStopsCoolingMs: 3, // above 2 m/s mixing ends the inversion (FAO ch. 2); 3 m/s leaves a margin
  nightClearHoldMs: 2 * HOUR_MS, // cooling stopped for 2 h before a night-time all clear: passing clouds stop it for ~1 h (DWD München replay)
  allClearAnywayAfterSunriseMs: 3 * HOUR_MS, // 3 h after sunrise the frost window is over even if the air is not rising
  leafOffsetC: 3, // docs/frost-model.md: leaves ~2 °C (up to 4) below screen air on clear calm nights; default 3
  minimumModel: DEFAULT_MINIMUM_MODEL, // fitted on 2,000 real frost and near-miss nights of 8 stations (minimum-default.ts)
  ffst: null,
  forecastMarginSd: 0, // act on the expected minimum; raising it trades lead time for fewer false alarms (docs/frost-model.md)
  calibrationWeight: 0.2, // about the last five nights count: a season's weather regimes change within weeks
  calibrationPriorNights: 3, // half weight after 3 nights: one odd night moves a new station little
  calibrationMaxForecastC: 8, // nights forecast warmer than this are not the frost nights the error matters on
  severeMarginSd: 1, // voice calls only when the minimum's upper ~84 % bound is ≤ 0 °C: a 2.5 °C-uncertain sunset forecast alone does not wake anyone
  nowcastFloorBelowDewC: 3, // docs/frost-model.md: nowcast floored at dew point − 3 °C (latent heat of dew/frost slows cooling)
  nowcastMinSpanMs: HOUR_MS, // docs/frost-model.md: fit over the last 60–120 min
  nowcastMaxSpanMs: 2 * HOUR_MS,
  trendWindowMs: HOUR_MS, // cooling rate over the last hour, as °C/h is stated
  sampleIntervalMs: MINUTE_MS, // fastest sampling asked of stations on risky nights (docs/frost-model.md config topic)
  maxSampleIntervalMs: HOUR_MS, // slowest legitimate sampling: LoRaWAN sensors report every 10–60 min (the shell asks ours for 300 s by day)
  offlineMissingMs: 5 * MINUTE_MS, // docs/frost-model.md: 5 missing minutes in 15 → offline (scaled up at slow sampling, officer.ts)
  offlineClearFraction: 0.4, // hysteresis: back online when ≤ 2 of those 5 minutes are missing
  lowBatteryV: 3.4, // Li-ion cell near empty under load; ESP32 LDOs drop out at ~3.3 V
  batteryClearV: 3.6, // hysteresis: a charged cell rests above 3.6 V
  fastSamplingAfterSunriseMs: 2 * HOUR_MS, // brief: fast sampling until sunrise + 2 h
  qc: {
    minAirC: -15, // WMO-No. 305 / Zahumenský 2004 plausible range for this climate (docs/frost-model.md)
    maxAirC: 40,
    maxStepCPerMin: 4, // Zahumenský 2004: air temperature step > 4 °C between 1-min values fails
    stuckWindowMs: HOUR_MS, // Zahumenský 2004: no change over 60 min → stuck
    stuckDeltaC: 0.1, // Zahumenský 2004: minimum required variability of air temperature in an hour, 0.1 °C
    dewSlackC: 0.5, // dew point ≤ air (WMO-No. 305), with capacitive RH sensors' ~3 % overshoot
    faultClearMs: 30 * MINUTE_MS, // half an hour of clean data before an officer's fault alert clears
  },
};

const SHIFTED: readonly (keyof Rules)[] = [
  'watchForecastMinC',
  'watchDewPointC',
  'warningMinC',
  'severeForecastMinC',
  'severeAirC',
  'severeLeafC',
  'allClearAirC',
];

/**
 * The rules of one station: arabica defaults shifted for the crop, then the station's overrides.
 * Overrides are absolute values (a calibrated station says what it means); they are not shifted again.
 */
export function rulesFor(crop: Crop, overrides: RuleOverrides = {}, device: StationDevice = {}): Rules {
  const shift = CROP_SHIFT_C[crop];
  const base: Rules = { ...ARABICA, ...batteryOf(device), qc: { ...ARABICA.qc }, crop, cropShiftC: shift };
  for (const key of SHIFTED) (base[key] as number) += shift;
  const { qc, ...rest } = overrides;
  return { ...base, ...rest, qc: { ...base.qc, ...qc } };
}

/**
 * The low-battery rule follows the device's cells, not frostwatch's Li-ion (3.4 V); a station's own override still wins.
 * - Dragino LHT65/LSN50: a 3.6 V Li-SOCl₂ cell; Dragino's own battery status calls < 2.55 V low, ≥ 2.65 V good
 *   (LHT65 user manual, "Bat_status").
 * - Shelly Plus H&T / Gen3: four AA cells, empty near 1.1 V each.
 * - Other off-the-shelf devices report a percentage, or run on mains (Tasmota, ESPHome boards), or their cells are
 *   unknown: no low-battery alert from a voltage frostwatch cannot interpret.
 */
function batteryOf(device: StationDevice): Partial<Pick<Rules, 'lowBatteryV' | 'batteryClearV'>> {
  const { source = 'native', preset = null } = device;
  if (source === 'native') return {};
  if (preset === 'dragino-lht65' || preset === 'dragino-lsn50') return { lowBatteryV: 2.55, batteryClearV: 2.65 };
  if (source === 'shelly') return { lowBatteryV: 4.4, batteryClearV: 4.8 };
  return { lowBatteryV: 0, batteryClearV: 0 };
}

/** The numeric rules a station may override, with QC rules as `qc.<name>` (the API's and the backtest's flat keys). */
export const OVERRIDABLE_RULES: readonly string[] = [
  ...Object.entries(ARABICA)
    .filter(([, value]) => typeof value === 'number')
    .map(([key]) => key),
  ...Object.keys(ARABICA.qc).map((key) => `qc.${key}`),
];

/** Flat overrides (`{"qc.stuckDeltaC": 0.3}`) as the nested shape `rulesFor` takes. Keys are OVERRIDABLE_RULES. */
export function nestedOverrides(flat: Readonly<Record<string, number>>): RuleOverrides {
  const qc = Object.fromEntries(
    Object.entries(flat)
      .filter(([k]) => k.startsWith('qc.'))
      .map(([k, v]) => [k.slice(3), v]),
  );
  const top = Object.fromEntries(Object.entries(flat).filter(([k]) => !k.startsWith('qc.')));
  return { ...top, ...(Object.keys(qc).length > 0 ? { qc } : {}) };
}

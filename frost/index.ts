/** The frost rule engine: a pure functional core (no clock, no IO). The server wires it (server/warnings/). */
export type {
  EngineEvent,
  FfstAirOnlyModel,
  FfstModel,
  NightFeatures,
  NightState,
  OfficerState,
  QcFlag,
  Sample,
  StationCalibration,
  StationContext,
  StationRuleState,
} from './types.js';
export { SampleWindow, type SampleColumns } from './sample-window.js';
export { emptyCalibration, learnFromNight } from './calibration.js';
export { evaluate, initialState, inRiskWindow, wantsFastSampling, type Evaluation } from './engine.js';
export { CROP_SHIFT_C, nestedOverrides, OVERRIDABLE_RULES, rulesFor, type QcRules, type RuleOverrides, type Rules } from './rules.js';
export { ffstCurveC, fitFfst, fitFfstAirOnly, forecastMinAirOnlyC, forecastMinC, nightFeatures, type FfstFitMethod } from './ffst.js';
export type { RiskWindow } from './phase.js';
export { dewPointC, frostPointC, saturationVapourPressureHPa, stationPressureHPa, vapourPressureHPa, wetBulbC } from './psychro.js';
export { nowcastMin } from './nowcast.js';
export { DEFAULT_MINIMUM_MODEL } from './minimum-default.js';
export {
  fitMinimumModel,
  MINIMUM_BUCKETS as MINIMUM_BUCKETS_COUNT,
  predictMinimum,
  type MinimumFeatures,
  type MinimumModel,
  type MinimumRow,
} from './minimum-model.js';
export {
  correctMinimum,
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
  type NightOutlook,
  type NightSummary,
  type PreAlertRules,
} from './forecast-night.js';

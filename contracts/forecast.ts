import { z } from 'zod';

/**
 * The day before and the morning after (issue 16): the weather forecast of a station's place, the pre-alert, the
 * damage surveys and the season's score. docs/frost-model.md ("Pre-alert") and docs/operations.md ("Damage surveys").
 */

const NightDateSchema = z.iso.date().describe('YYYY-MM-DD: the local date of the evening the night begins');

/** fresh: fetched at the last slot or the one before (≤ 6 h); stale: older or failing; missing: never fetched; off: FORECAST_URL=off. */
export const ForecastStatusSchema = z.enum(['fresh', 'stale', 'missing', 'off']);
export type ForecastStatus = z.infer<typeof ForecastStatusSchema>;

export const ForecastNightSchema = z.object({
  night: NightDateSchema,
  lead: z.enum(['tonight', 'tomorrow']),
  forecastMinC: z.number().describe("the forecast's minimum of the night (18:00–07:00 local)"),
  minAt: z.string().describe('ISO 8601'),
  correctedMinC: z.number().describe("the station-corrected minimum: the station's learnt relation to the forecast"),
  cloudPct: z.number(),
  windMs: z.number(),
  dewPointC: z.number(),
  clear: z.boolean(),
  calm: z.boolean(),
  dry: z.boolean(),
  frostLikely: z.boolean(),
  prealerted: z.boolean().describe('a pre-alert was decided for this station and night'),
});
export type ForecastNight = z.infer<typeof ForecastNightSchema>;

export const MinimumCorrectionSchema = z.object({
  alpha: z.number(),
  beta: z.number(),
  n: z.number().int().describe('nights learnt from'),
  rmseC: z.number(),
  kind: z.enum(['prior', 'bias', 'linear']),
});

/** GET /api/stations/:id/forecast: columnar hours for the chart (x in epoch seconds), the nights judged, the correction. */
export const StationForecastSchema = z.object({
  stationId: z.string(),
  status: ForecastStatusSchema,
  fetchedAt: z.string().nullable(),
  lastError: z.string().nullable(),
  x: z.array(z.number()),
  tempC: z.array(z.number().nullable()),
  dewPointC: z.array(z.number().nullable()),
  cloudPct: z.array(z.number().nullable()),
  windMs: z.array(z.number().nullable()),
  nights: z.array(ForecastNightSchema),
  correction: MinimumCorrectionSchema.describe(
    'the same-day correction; tomorrow night uses the day-ahead one once 5 nights have taught it (each night carries its correctedMinC)',
  ),
});
export type StationForecast = z.infer<typeof StationForecastSchema>;

/** GET /api/forecast: the forecast across stations, for the overview's banner. */
export const ForecastOverviewSchema = z.object({
  status: ForecastStatusSchema.describe('the worst status of any station'),
  source: z.string().nullable().describe('FORECAST_URL, null when off'),
  fetchedAt: z.string().nullable().describe('the oldest last success across stations'),
  stale: z.array(z.string()).describe('stations whose forecast is stale or missing'),
  prealerts: z.array(
    z.object({
      night: NightDateSchema,
      lead: z.enum(['tonight', 'tomorrow']),
      commune: z.string(),
      stations: z.array(z.string()),
      correctedMinC: z.number().describe('the coldest corrected minimum of the commune'),
    }),
  ),
});
export type ForecastOverview = z.infer<typeof ForecastOverviewSchema>;

export const DamageSchema = z.enum(['none', 'leaf_burn', 'young_trees_lost', 'severe']);
export type Damage = z.infer<typeof DamageSchema>;

export const SurveyCreateSchema = z.object({
  night: NightDateSchema,
  commune: z.string().trim().min(1).max(100),
  farmerId: z.number().int().positive().optional().describe('a farm; absent: the commune as a whole'),
  damage: DamageSchema,
  note: z.string().trim().max(500).optional(),
});
export type SurveyCreate = z.infer<typeof SurveyCreateSchema>;

export const SurveySchema = SurveyCreateSchema.extend({
  id: z.number().int(),
  farmerId: z.number().int().nullable(),
  farmerName: z.string().nullable(),
  note: z.string().nullable(),
  source: z.enum(['officer', 'keypress']),
  recordedBy: z.string(),
  recordedAt: z.string(),
});
export type Survey = z.infer<typeof SurveySchema>;

export const SurveyQuerySchema = z.object({ from: NightDateSchema, to: NightDateSchema });

/** hit: warned and frost; miss: frost unwarned; false_alarm: warned, nothing froze; quiet: neither. */
export const OutcomeSchema = z.enum(['hit', 'miss', 'false_alarm', 'quiet']);
export type Outcome = z.infer<typeof OutcomeSchema>;

export const ScoreNightSchema = z.object({
  night: NightDateSchema,
  commune: z.string(),
  minAirC: z.number().nullable().describe("the commune's coldest station minimum"),
  damage: DamageSchema.nullable().describe('the worst surveyed damage, null without a survey'),
  frost: z.boolean().describe('by the survey where there is one, else a station minimum ≤ 0 °C'),
  frostBy: z.enum(['survey', 'station', 'none']),
  highestLevel: z.string().describe('the highest ladder level of the night in the commune'),
  warned: z.boolean().describe('Warning or Severe reached'),
  prealerted: z.boolean(),
  outcome: OutcomeSchema,
  prealertOutcome: OutcomeSchema,
  leadTimeH: z.number().nullable().describe('from the first Warning to the coldest moment'),
  prealertLeadTimeH: z.number().nullable().describe('from the pre-alert to the coldest moment'),
});
export type ScoreNight = z.infer<typeof ScoreNightSchema>;

export const ScoreCommuneSchema = z.object({
  commune: z.string(),
  hits: z.number().int(),
  misses: z.number().int(),
  falseAlarms: z.number().int(),
  quiet: z.number().int(),
  prealertHits: z.number().int(),
  prealertMisses: z.number().int(),
  prealertFalseAlarms: z.number().int(),
  medianLeadTimeH: z.number().nullable(),
  medianPrealertLeadTimeH: z.number().nullable(),
  surveyed: z.number().int().describe('nights with a survey'),
});
export type ScoreCommune = z.infer<typeof ScoreCommuneSchema>;

/** GET /api/reports/score: the season scored against surveys and station minima (docs/operations.md). */
export const SeasonScoreSchema = z.object({
  from: NightDateSchema,
  to: NightDateSchema,
  communes: z.array(ScoreCommuneSchema),
  nights: z.array(ScoreNightSchema),
});
export type SeasonScore = z.infer<typeof SeasonScoreSchema>;

export const OptOutSetSchema = z.object({ optedOut: z.boolean() });

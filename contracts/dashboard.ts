import { z } from 'zod';
import { FrostLevelSchema } from './alerts.js';
import { StationSchema } from './api.js';
import { DistrictIdSchema } from './districts.js';

/** Sign-in and roles (issue 4). A session is an httpOnly cookie; API clients may still use a Bearer token. */
export const RoleSchema = z.enum(['admin', 'officer', 'viewer']);
export type Role = z.infer<typeof RoleSchema>;

export const LoginSchema = z.object({ username: z.string().trim().min(1).max(64), password: z.string().min(1).max(200) });
export const MeSchema = z.object({
  username: z.string(),
  role: RoleSchema,
  name: z.string(),
  districtId: z.string().nullable().describe('the one district this user sees and acts in; null: province-wide (every admin)'),
  districtName: z.string().nullable(),
});
export type Me = z.infer<typeof MeSchema>;

export const UserCreateSchema = z.object({
  username: z
    .string()
    .trim()
    .regex(/^[a-z0-9._-]{2,64}$/, 'username: 2–64 lower-case letters, digits, . _ -'),
  name: z.string().trim().min(1).max(100),
  role: RoleSchema,
  password: z.string().min(10, 'password: at least 10 characters').max(200),
  districtId: DistrictIdSchema.nullable()
    .optional()
    .describe(
      'officer or viewer: the district they see and act in (default lac-duong); null: province-wide. Admins are always province-wide',
    ),
});
export type UserCreate = z.infer<typeof UserCreateSchema>;

/** One row of the overview: what an officer needs to judge a station at a glance. */
export const StationOverviewSchema = StationSchema.pick({
  id: true,
  name: true,
  commune: true,
  districtId: true,
  lat: true,
  lon: true,
  elevationM: true,
}).extend({
  level: FrostLevelSchema.describe('the frost ladder level now'),
  airTempC: z.number().nullable(),
  dewPointC: z.number().nullable(),
  forecastMinC: z.number().nullable().describe("tonight's forecast minimum"),
  forecastMinAtMs: z.number().nullable(),
  batteryV: z.number().nullable(),
  lastSeenAt: z.string().nullable(),
  online: z.boolean().nullable(),
  faults: z.array(z.enum(['station_offline', 'sensor_fault', 'low_battery'])).describe('open officer alerts'),
  /** 0 (fine) … 100 (severe now): the list is sorted by it. */
  risk: z.number(),
});
export type StationOverview = z.infer<typeof StationOverviewSchema>;

export const ChartRangeSchema = z.enum(['night', '24h', '7d', 'season']);
export type ChartRange = z.infer<typeof ChartRangeSchema>;

/** A station chart, columnar for uPlot: x in epoch seconds, one array per series, nulls for gaps. */
export const ChartSchema = z.object({
  stationId: z.string(),
  range: ChartRangeSchema,
  from: z.string(),
  to: z.string(),
  every: z.string().describe('InfluxDB aggregation window'),
  x: z.array(z.number()),
  airTempC: z.array(z.number().nullable()),
  airTempMinC: z.array(z.number().nullable()),
  dewPointC: z.array(z.number().nullable()),
  leafEstC: z.array(z.number().nullable()),
  thresholds: z.object({ watchC: z.number(), warningC: z.number(), severeC: z.number(), leafOffsetC: z.number() }),
  /** Tonight's FFST curve, when the engine has one: epoch seconds and °C. */
  forecast: z.object({ x: z.array(z.number()), c: z.array(z.number()) }).nullable(),
  markers: z.array(z.object({ at: z.number().describe('epoch seconds'), transition: z.string(), level: z.string(), reason: z.string() })),
});
export type Chart = z.infer<typeof ChartSchema>;

/** Server-sent events on GET /api/events: `station` (a StationOverview) and `alert` (an Alert). */
export const SSE_EVENTS = ['station', 'alert'] as const;

export const NightReportRowSchema = z.object({
  stationId: z.string(),
  name: z.string(),
  commune: z.string(),
  districtId: z.string(),
  district: z.string().describe("the district's name"),
  minAirC: z.number().nullable(),
  minAt: z.string().nullable(),
  hoursBelow2C: z.number(),
  hoursBelow0C: z.number(),
  hoursBelowMinus2C: z.number(),
  highestLevel: z.string(),
  messagesSent: z.number(),
  recipients: z.number(),
  reached: z.number(),
  reachRate: z.number().nullable().describe('reached / recipients'),
  leadTimeH: z.number().nullable().describe('from the first Warning or Severe to the coldest moment'),
});
export type NightReportRow = z.infer<typeof NightReportRowSchema>;

export const ReportSchema = z.object({
  kind: z.enum(['night', 'season']),
  from: z.string(),
  to: z.string(),
  rows: z.array(NightReportRowSchema),
});
export type Report = z.infer<typeof ReportSchema>;

/** What the dashboard needs to know of the server's configuration. */
/** The time zone a server without TZ_NAME uses: Lạc Dương's. */
export const DEFAULT_TIME_ZONE = 'Asia/Ho_Chi_Minh';
export const UiConfigSchema = z.object({
  tileUrl: z.string().nullable(),
  timeZone: z.string().describe('IANA zone of the farms (TZ_NAME): the dashboard shows every time in it'),
  clock: z
    .object({ nowMs: z.number(), speed: z.number() })
    .describe("the server's clock when it answered: a simulated night (`up --start`, `--speed`) runs the dashboard's dates too")
    .optional(),
});
export type UiConfig = z.infer<typeof UiConfigSchema>;

/**
 * Worst first, as an officer triages: the server's risk score, then the colder forecast (a station without one
 * last), then the id. The server sorts its overview with it and the dashboard keeps its rows in the same order.
 */
export function byRisk(a: StationOverview, b: StationOverview): number {
  return b.risk - a.risk || (a.forecastMinC ?? Infinity) - (b.forecastMinC ?? Infinity) || a.id.localeCompare(b.id);
}

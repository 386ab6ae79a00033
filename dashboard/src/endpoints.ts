import { z } from 'zod';
import { AlertSchema, DeliverySchema, UnreachedSchema, type AlertStatus } from '../../contracts/alerts.js';
import { StationCreateSchema, StationCredentialsSchema, StationSchema } from '../../contracts/api.js';
import { AuditPageSchema } from '../../contracts/audit.js';
import { DistrictSchema } from '../../contracts/districts.js';
import {
  ChartSchema,
  MeSchema,
  ReportSchema,
  SSE_EVENTS,
  StationOverviewSchema,
  UiConfigSchema,
  type ChartRange,
} from '../../contracts/dashboard.js';
import {
  ForecastOverviewSchema,
  SeasonScoreSchema,
  StationForecastSchema,
  SurveyCreateSchema,
  SurveySchema,
} from '../../contracts/forecast.js';
import {
  OptOutEventSchema,
  CommuneStationSchema,
  CommuneStationSetSchema,
  FarmerCreateSchema,
  FarmerImportReportSchema,
  FarmerSchema,
  OfficerCreateSchema,
  OfficerSchema,
} from '../../contracts/people.js';
import { api, ApiError, SESSION_PATH } from './api.js';

/**
 * Every path of the API the dashboard uses, in one place, each with the contract schema its answer must match. An
 * answer that does not match (a server of another version, a proxy's error page) is an error the page shows, never
 * data the page draws.
 */

async function checked<S extends z.ZodType>(
  schema: S,
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<z.infer<S>> {
  const json = await api(method, path, body, contentType);
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new ApiError(502, 'bad_response', `unexpected answer from ${path}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

const AlertDetailSchema = AlertSchema.extend({ deliveries: z.array(DeliverySchema).optional() });
export type AlertDetail = z.infer<typeof AlertDetailSchema>;
const enc = encodeURIComponent;
export type ReportQuery = { kind: 'night'; date: string } | { kind: 'season'; from: string; to: string };
/** Request bodies as the page builds them: the schema's input (defaults not yet applied). */
type StationCreate = z.input<typeof StationCreateSchema>;
type FarmerCreate = z.input<typeof FarmerCreateSchema>;
type OfficerCreate = z.input<typeof OfficerCreateSchema>;
type CommuneStationSet = z.input<typeof CommuneStationSetSchema>;
type SurveyCreate = z.input<typeof SurveyCreateSchema>;

export type { OptOutEvent } from '../../contracts/people.js';
export type ScoreRows = 'communes' | 'nights';

/** The season's score between two nights; `csv` names the CSV's rows (a download link). */
function scorePath(from: string, to: string, csv?: ScoreRows): string {
  return `/api/reports/score?from=${enc(from)}&to=${enc(to)}${csv ? `&format=csv&rows=${csv}` : ''}`;
}

/** A night's or a season's report (the CSV link adds `&format=csv`). */
function reportPath(r: ReportQuery): string {
  return r.kind === 'night' ? `/api/reports/night?date=${enc(r.date)}` : `/api/reports/season?from=${enc(r.from)}&to=${enc(r.to)}`;
}

export const endpoints = {
  me: () => checked(MeSchema, 'GET', '/api/me'),
  signIn: (username: string, password: string) => checked(MeSchema, 'POST', SESSION_PATH, { username, password }),
  /** 204, no body: nothing to check. */
  signOut: () => api('DELETE', SESSION_PATH),
  uiConfig: () => checked(UiConfigSchema, 'GET', '/api/ui-config'),
  overview: () => checked(z.array(StationOverviewSchema), 'GET', '/api/overview'),
  /** The districts the caller sees: one for a district user, all for a province-wide one. */
  districts: () => checked(z.array(DistrictSchema), 'GET', '/api/districts'),
  chart: (id: string, range: ChartRange) => checked(ChartSchema, 'GET', `/api/stations/${enc(id)}/chart?range=${range}`),
  alerts: (status: AlertStatus) => checked(z.array(AlertSchema), 'GET', `/api/alerts?status=${status}`),
  alert: (id: number) => checked(AlertDetailSchema, 'GET', `/api/alerts/${id}`),
  acknowledge: (id: number) => checked(AlertSchema, 'POST', `/api/alerts/${id}/ack`, {}),
  unreached: (hours: number) => checked(z.array(UnreachedSchema), 'GET', `/api/alerts/unreached?hours=${hours}`),
  reportPath,
  report: (r: ReportQuery) => checked(ReportSchema, 'GET', reportPath(r)),
  audit: (before: number | null) => checked(AuditPageSchema, 'GET', `/api/audit?limit=100${before === null ? '' : `&before=${before}`}`),
  stations: () => checked(z.array(StationSchema), 'GET', '/api/stations'),
  addStation: (body: StationCreate) => checked(StationCredentialsSchema, 'POST', '/api/stations', body),
  farmers: () => checked(z.array(FarmerSchema), 'GET', '/api/farmers'),
  addFarmer: (body: FarmerCreate) => checked(FarmerSchema, 'POST', '/api/farmers', body),
  importFarmers: (csv: string) => checked(FarmerImportReportSchema, 'POST', '/api/farmers/import', csv, 'text/csv'),
  officers: () => checked(z.array(OfficerSchema), 'GET', '/api/officers'),
  addOfficer: (body: OfficerCreate) => checked(OfficerSchema, 'POST', '/api/officers', body),
  communes: () => checked(z.array(CommuneStationSchema), 'GET', '/api/communes'),
  setCommuneStation: (commune: string, body: CommuneStationSet) =>
    checked(CommuneStationSchema, 'PUT', `/api/communes/${enc(commune)}/station`, body),
  forecast: () => checked(ForecastOverviewSchema, 'GET', '/api/forecast'),
  stationForecast: (id: string) => checked(StationForecastSchema, 'GET', `/api/stations/${enc(id)}/forecast`),
  surveys: (from: string, to: string) => checked(z.array(SurveySchema), 'GET', `/api/surveys?from=${enc(from)}&to=${enc(to)}`),
  addSurvey: (body: SurveyCreate) => checked(SurveySchema, 'POST', '/api/surveys', body),
  scorePath,
  score: (from: string, to: string) => checked(SeasonScoreSchema, 'GET', scorePath(from, to)),
  setOptOut: (farmerId: number, optedOut: boolean) => checked(FarmerSchema, 'PUT', `/api/farmers/${farmerId}/opt-out`, { optedOut }),
  optOuts: () => checked(z.array(OptOutEventSchema), 'GET', '/api/opt-outs'),
};

/**
 * GET /api/events, server-sent: each event's data must match its contract schema, like any other answer (live.ts
 * drops one that does not). `satisfies` keeps the list in step with the contract's SSE_EVENTS.
 */
export const liveEvents = {
  path: '/api/events',
  schemas: { station: StationOverviewSchema, alert: AlertSchema } satisfies Record<(typeof SSE_EVENTS)[number], z.ZodType>,
};

import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock, Health, ReadingOut, RejectReason, StationId } from '../contracts/index.js';
import type { AlertStore } from './warnings/alert-store.js';
import type { DeliveryView } from './warnings/deliveries.js';
import type { AuditLog } from './audit/audit-log.js';
import type { UserAuth } from './auth/sessions.js';
import type { Dashboard } from './dashboard/dashboard.js';
import type { HttpRateLimits } from './http-limits.js';
import type { IntegrationRepository } from './registry/integrations.js';
import type { PeopleRepository } from './registry/people.js';
import type { StationRepository } from './registry/stations.js';
import type { ModelRoutesDeps } from './routes/model.js';
import type { TwilioRouteDeps } from './routes/twilio.js';
import type { SeasonRouteDeps } from './routes/season.js';
import type { FarmerChoices } from './warnings/farmer-choices.js';

/**
 * What the HTTP app is built from (`buildApp` in app.ts). Apart from app.ts so the routes can name the parts they
 * take without importing the app that registers them.
 */

/** Reads readings back from storage (InfluxDB). `every` is an InfluxQL interval such as `5m`. */
export interface ReadingsStore {
  query(stationId: StationId, q: { fromMs: number; toMs: number; every?: string }): Promise<ReadingOut[]>;
}

/** What ingest knows about a station's traffic; both null when it was never heard from. */
export interface StationActivity {
  get(id: string): { lastSeenAt: number | null; online: boolean | null };
}

/** The warning areas; absent in tests that exercise only the registry and readings. */
export interface WarningDeps {
  people: PeopleRepository;
  alerts: AlertStore;
  deliveries: DeliveryView;
  twilio: TwilioRouteDeps;
  fitModel: ModelRoutesDeps['fitModel'];
  setRuleOverrides: ModelRoutesDeps['setRuleOverrides'];
  /** Farmers' own choices (stop, start, language), here for the officer's opt-out on the farmer's page. */
  choices: FarmerChoices;
  /** The forecast, the surveys and the season score (issue 16). */
  season: Omit<SeasonRouteDeps, 'people' | 'stations'>;
}

/** What each station's device had refused (server/ingest/refusals.ts). */
export interface StationRefusalsView {
  of(stationId: string): { reason: RejectReason; count: number; lastAtMs: number }[];
}

export interface AppDeps {
  logger: Logger;
  clock: Clock;
  stations: StationRepository;
  readings: ReadingsStore;
  activity: StationActivity;
  /** Refusals per station; absent: shown as none. */
  refusals?: StationRefusalsView;
  health: () => Promise<Health>;
  metrics: Registry;
  /** METRICS_TOKEN: `/metrics` then needs `Authorization: Bearer <it>`; absent or null → `/metrics` is open. */
  metricsToken?: string | null;
  adminToken: string;
  warnings?: WarningDeps;
  /** The officers' dashboard data (overview, events, charts, reports); absent in registry-only tests. */
  dashboard?: Dashboard;
  /** Users and sessions (dashboard sign-in); absent → only the admin token is accepted. */
  auth?: UserAuth;
  /** The built dashboard (dashboard/dist by default). */
  dashboardDir?: string;
  /** MAP_TILE_URL: the dashboard's map tiles, or none. */
  tileUrl?: string | null;
  /** TZ_NAME: the farms' time zone, in which the dashboard shows every time (default Asia/Ho_Chi_Minh). */
  timeZone?: string;
  /** Certificate and key (TLS_CERT_FILE, TLS_KEY_FILE): serve HTTPS instead of HTTP; session cookies get Secure. */
  https?: { cert: Buffer; key: Buffer } | null;
  /** Integration accounts (a ChirpStack's MQTT integration): /api/integrations; absent → no such routes. */
  integrations?: IntegrationRepository;
  /** The audit log of people's actions (routes declare `config.audit`); absent → nothing recorded, no GET /api/audit. */
  audit?: AuditLog;
  /** Told of every route as it is registered: the access-matrix and audit tests check that none is left undecided. */
  onRoute?: (route: RouteOptions) => void;
  /** Per-address request limits; each one not given is DEFAULT_HTTP_RATE_LIMITS' (server/http-limits.ts). */
  rateLimits?: Partial<HttpRateLimits>;
  /** Where the rate limits count (a cluster: PostgreSQL, http-limits-pg.ts); absent: in this process. */
  rateLimitStore?: FastifyRateLimitStoreCtor;
  /** HTTP_TRUSTED_PROXIES: proxies whose X-Forwarded-For is believed; absent → the socket's address counts. */
  trustedProxies?: string;
}

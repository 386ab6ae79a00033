import { mkdtemp, rm } from 'node:fs/promises';
import { testRegistry } from './registry-db.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { type Logger, pino } from 'pino';
import twilio from 'twilio';
import { emptyInputs } from '../../frost/inputs.js';
import { type Clock, type Role, type StationCreate, UpEnvSchema, loadEnv } from '../../contracts/index.js';
import { type AssembledServer, assembleServer } from '../../server/assemble.js';
import type { AuditLog } from '../../server/audit/audit-log.js';
import { type GatewayEdge, gatewayEdge } from '../../server/broker-edge.js';
import type { HttpRateLimits } from '../../server/http-limits.js';
import type { UserAuth } from '../../server/auth/sessions.js';
import type { Dashboard } from '../../server/dashboard/dashboard.js';
import type { StationActivity } from '../../server/ingest/activity.js';
import type { Db } from '../../server/registry/db.js';
import type { StationRepository } from '../../server/registry/stations.js';
import type { Warnings } from '../../server/warnings/warnings.js';
import { type TestInfluxd, startTestInfluxd } from './influxd.js';

export const FULL_APP_ADMIN_TOKEN = 'full-app-admin-token-0123456789';
export const TWILIO_AUTH_TOKEN = 'full-app-twilio-auth-token-0123';
export const PUBLIC_URL = 'https://frostwatch.example.org';

export type Caller = 'admin' | 'admin-token' | 'officer' | 'viewer' | 'nobody';
export const CALLERS: readonly Caller[] = ['admin', 'admin-token', 'officer', 'viewer', 'nobody'];

/**
 * The whole server as `frostwatch up` assembles it (server/assemble.ts) — registry, people, alerts, dashboard, sign-in,
 * audit log, Twilio callbacks with signature checking — over a real SQLite file and a real influxd, driven with `inject`.
 */
export interface FullApp {
  app: FastifyInstance;
  /** Everything assembleServer built (ingest, spool, gateway edge, metrics…), for tests that need more than the app. */
  server: AssembledServer<GatewayEdge>;
  db: Db;
  stations: StationRepository;
  warnings: Warnings;
  dashboard: Dashboard;
  audit: AuditLog;
  auth: UserAuth;
  influx: TestInfluxd;
  activity: StationActivity;
  logger: Logger;
  /** Every route the app registered, as `METHOD /url` with its options (HEAD twins of GET routes left out). */
  routes: Map<string, RouteOptions>;
  /** Headers that authenticate as each caller: a session cookie (+ CSRF header) for users, the bearer token, nothing. */
  headers: Record<Caller, Record<string, string>>;
  /** A frost alert opened directly in the alert store (the rule engine is not under test here). */
  openAlert(stationId: string, reason: string, atMs: number): number;
  /** Form-encoded Twilio callback headers and body, signed like Twilio does (or not). */
  twilioRequest(
    path: string,
    params: Record<string, string>,
    sign?: boolean,
  ): { url: string; headers: Record<string, string>; payload: string };
  close(): Promise<void>;
}

export function stationBody(id: string, extra: Partial<StationCreate> = {}): StationCreate {
  return { id, name: id, commune: 'Lát', lat: 12.03, lon: 108.4, elevationM: 1_500, crop: 'arabica', ...extra } as StationCreate;
}

/** Default: limits far above what a test sends. The limiter has tests of its own; here it would only answer 429 to a fuzzer. */
const UNLIMITED: Partial<HttpRateLimits> = {
  requestsPerMin: 1_000_000,
  signInsPerMin: 1_000_000,
  failedAuthMax: 1_000_000,
  twilioPerMin: 1_000_000,
};

export async function startFullApp(options: {
  clock: Clock;
  logger?: Logger;
  influx?: TestInfluxd;
  rateLimits?: Partial<HttpRateLimits>;
  /** Issue 16: off unless given. */
  forecastUrl?: string;
  quietHours?: string;
  surveyCalls?: 'off' | 'severe' | 'warning';
  smsReplies?: 'on' | 'off';
  /** A PostgreSQL registry to share with another full app (a cluster's second server); default: testRegistry(). */
  databaseUrl?: string;
  /** Send for real, through the Twilio-compatible test server (default: dry run). */
  twilio?: { accountSid: string; authToken: string; url: string };
}): Promise<FullApp> {
  const { clock } = options;
  const logger = options.logger ?? pino({ level: 'silent' });
  const influx = options.influx ?? (await startTestInfluxd({ database: 'frostwatch_full_app' }));
  const dir = await mkdtemp(join(tmpdir(), 'frostwatch-full-app-'));
  const routes = new Map<string, RouteOptions>();
  const onRoute = (route: RouteOptions): void => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.set(`${method} ${route.url}`, route);
  };
  const registry =
    options.databaseUrl === undefined ? await testRegistry() : { databaseUrl: options.databaseUrl, drop: () => Promise.resolve() };
  const settings = loadEnv(UpEnvSchema, {
    DATA_DIR: dir,
    ...(registry.databaseUrl === undefined ? {} : { DATABASE_URL: registry.databaseUrl }),
    HOST: '127.0.0.1',
    HTTP_PORT: '0',
    ADMIN_TOKEN: FULL_APP_ADMIN_TOKEN,
    INFLUX_BUCKET: influx.database,
    PUBLIC_URL,
    TWILIO_AUTH_TOKEN: options.twilio?.authToken ?? TWILIO_AUTH_TOKEN,
    ...(options.twilio
      ? { TWILIO_ACCOUNT_SID: options.twilio.accountSid, TWILIO_FROM: '+15005550006', TWILIO_API_URL: options.twilio.url }
      : {}),
    SMS_SEGMENTS_PER_S: '1000',
    // The tests' clocks stand where their fixtures are (a night of January 2025), while InfluxDB counts a retention
    // policy from the machine's own clock: with the default 400 days it would drop those readings as expired.
    RAW_RETENTION_DAYS: '36500',
    FORECAST_URL: options.forecastUrl ?? 'off',
    QUIET_HOURS: options.quietHours ?? 'off',
    SURVEY_CALLS: options.surveyCalls ?? 'off',
    ...(options.smsReplies ? { SMS_REPLIES: options.smsReplies } : {}),
  });
  // The server as `frostwatch up` assembles it, its in-process gateway built but not listening: requests go through inject.
  const server = await assembleServer({
    settings,
    influxUrl: influx.url,
    logger,
    clock,
    // Tests here step their own clock: the engine runs on this thread, on that clock (a worker thread runs on real time).
    engine: 'inline',
    edge: gatewayEdge({ listen: { host: '127.0.0.1', mqttPort: 0, wsPort: 0 } }),
    http: { onRoute, rateLimits: options.rateLimits ?? UNLIMITED },
  });
  const { app, warnings, auth } = server;
  const headers = await signInEveryone(app, auth);
  const close = async (): Promise<void> => {
    await server.close();
    await registry.drop();
    if (!options.influx) await influx.stop();
    await rm(dir, { recursive: true, force: true });
  };
  return {
    app,
    server,
    db: server.db,
    stations: server.stations,
    warnings,
    dashboard: server.dashboard,
    audit: server.audit,
    auth,
    influx,
    activity: server.activity,
    logger,
    headers,
    routes,
    close,
    openAlert: (stationId, reason, atMs) => {
      const applied = warnings.alerts.apply(
        { kind: 'frost', stationId, from: 'none', to: 'severe', atMs, reason, notify: false, inputs: emptyInputs(atMs, null) },
        atMs,
      );
      if (!applied) throw new Error('alert not opened');
      return applied.alertId;
    },
    twilioRequest: (path, params, sign = true) => {
      const url = `/api/twilio${path}`;
      const signature = twilio.getExpectedTwilioSignature(options.twilio?.authToken ?? TWILIO_AUTH_TOKEN, PUBLIC_URL + url, params);
      return {
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(sign ? { 'x-twilio-signature': signature } : {}) },
        payload: new URLSearchParams(params).toString(),
      };
    },
  };
}

async function signInEveryone(app: FastifyInstance, auth: UserAuth): Promise<Record<Caller, Record<string, string>>> {
  const headers: Record<Caller, Record<string, string>> = {
    'admin-token': { authorization: `Bearer ${FULL_APP_ADMIN_TOKEN}` },
    nobody: {},
    admin: {},
    officer: {},
    viewer: {},
  };
  const roles: Role[] = ['admin', 'officer', 'viewer'];
  for (const role of roles) {
    await auth.users.create({ username: `${role}-user`, name: `${role} person`, role, password: `${role}-password-long` });
    const response = await app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { username: `${role}-user`, password: `${role}-password-long` },
    });
    const cookie = response.cookies.find((c) => c.name === 'fw_session');
    if (!cookie) throw new Error(`no session for ${role}: ${response.statusCode} ${response.body}`);
    headers[role] = { cookie: `fw_session=${cookie.value}`, 'x-requested-with': 'frostwatch' };
  }
  return headers;
}

import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock, Health, IngestSink, ServerEnv } from '../contracts/index.js';
import { buildApp } from './app.js';
import { AuditLog } from './audit/audit-log.js';
import { type AdminToken, resolveAdminToken } from './auth/admin-token.js';
import { type CredentialWatch, watchCredentials } from './auth/credential-watch.js';
import { CachingStationAuthenticator } from './auth/station-authenticator.js';
import { connectInflux } from './influx/connect.js';
import { type ConfigPublisher, FrostEngine } from './warnings/frost-engine.js';
import { startWarnings, watchDependencies } from './warnings/warnings.js';
import { UserAuth } from './auth/sessions.js';
import { ensureBootstrapAdmin } from './auth/bootstrap-admin.js';
import type { Notifier } from './notify/sender.js';
import { queryReadings } from './influx/readings-query.js';
import { StationActivity, withActivity } from './ingest/activity.js';
import { type IngestService, createIngestService } from './ingest/ingest-service.js';
import { providerCheck } from './notify/provider-health.js';
import { dataPaths } from './paths.js';
import { type Db, openDatabase } from './registry/db.js';
import { StationRepository } from './registry/stations.js';
import { type Dashboard, createDashboard } from './dashboard/dashboard.js';

export type ServerSettings = Pick<
  ServerEnv,
  | 'DATA_DIR'
  | 'HOST'
  | 'HTTP_PORT'
  | 'ADMIN_TOKEN'
  | 'INFLUX_TOKEN'
  | 'INFLUX_ORG'
  | 'INFLUX_BUCKET'
  | 'SPOOL_MAX_MB'
  | 'TZ_NAME'
  | 'PUBLIC_URL'
  | 'TWILIO_ACCOUNT_SID'
  | 'TWILIO_AUTH_TOKEN'
  | 'TWILIO_FROM'
  | 'TWILIO_MESSAGING_SERVICE_SID'
  | 'TWILIO_API_URL'
  | 'SMS_SEGMENTS_PER_S'
  | 'SMS_SEGMENT_COST_USD'
  | 'VOICE_ACK_TIMEOUT_S'
  | 'MAP_TILE_URL'
  | 'HTTP_TRUSTED_PROXIES'
>;

export interface ServerRuntimeOptions {
  settings: ServerSettings;
  /** INFLUX_URL, or the managed influxd's URL. */
  influxUrl: string;
  logger: Logger;
  clock: Clock;
  /** Certificate and key from TLS_CERT_FILE / TLS_KEY_FILE: HTTPS on HTTP_PORT. */
  tls?: { cert: Buffer; key: Buffer } | null;
}

export interface Check {
  ok: boolean;
  detail?: string;
}

export interface ServerRuntime {
  readonly app: FastifyInstance;
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly metrics: Registry;
  readonly ingest: IngestService;
  /** The ingest wrapped so every durable acceptance also marks the station as heard. */
  readonly sink: IngestSink;
  readonly stations: StationRepository;
  readonly authenticator: CachingStationAuthenticator;
  /** Token revocations and rotations, made here or by another process on the registry file (for the gateway). */
  readonly credentialChanges: CredentialWatch;
  readonly adminToken: AdminToken;
  /** The dashboard user created on the very first start (its password is shown once), else null. */
  readonly bootstrapUser: { username: string; password: string } | null;
  readonly engine: FrostEngine;
  readonly notifier: Notifier;
  readonly dashboard: Dashboard;
  /** How the broker side is doing (the in-process gateway, or the broker consumer). */
  setBrokerCheck(check: () => Check): void;
  /** Where the engine publishes station config (adaptive sampling): the in-process broker or the MQTT client. */
  setConfigPublisher(publisher: ConfigPublisher): void;
  /** HTTP, then ingest (drains the spool for a bounded time), then InfluxDB client, then SQLite. Idempotent. */
  close(): Promise<void>;
}

/** The server's parts, built and wired: registry, InfluxDB, ingest spool, HTTP API. Listens on HTTP_PORT. */
export async function startServerRuntime(options: ServerRuntimeOptions): Promise<ServerRuntime> {
  const { settings, logger, clock } = options;
  const paths = dataPaths(settings.DATA_DIR);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: 'frostwatch_process_' });

  const db = openDatabase(paths.registry, logger.child({ module: 'registry' }));
  const stations = new StationRepository(db, clock);
  const authenticator = new CachingStationAuthenticator(stations);
  const credentialChanges = watchCredentials({ db, stations, logger: logger.child({ module: 'registry' }) });
  const adminToken = await resolveAdminToken({ configured: settings.ADMIN_TOKEN, dataDir: settings.DATA_DIR, logger });

  const influx = await connectInflux({
    url: options.influxUrl,
    token: settings.INFLUX_TOKEN,
    org: settings.INFLUX_ORG,
    bucket: settings.INFLUX_BUCKET,
    logger: logger.child({ module: 'influx' }),
  });
  const ingest = createIngestService({
    dir: paths.spool,
    influx,
    logger: logger.child({ module: 'ingest' }),
    metrics,
    maxSpoolBytes: settings.SPOOL_MAX_MB * 1024 * 1024,
    clock,
  });
  await ingest.start();
  const activity = new StationActivity();
  const sink = withActivity(ingest, activity, clock);

  const userAuth = new UserAuth({ db, clock, logger: logger.child({ module: 'auth' }) });
  const bootstrapUser = await ensureBootstrapAdmin(userAuth.users, settings.DATA_DIR, logger);
  let brokerCheck: () => Check = () => ({ ok: false, detail: 'no broker attached' });
  const scheme = options.tls ? 'https' : 'http';
  const publicUrl = settings.PUBLIC_URL ?? `${scheme}://${urlHost(settings.HOST)}:${settings.HTTP_PORT}`;
  const query: Parameters<typeof startWarnings>[0]['query'] = (id, range) => queryReadings(influx, id, range);
  const warnings = startWarnings({ db, stations, activity, settings, publicUrl, clock, logger, metrics, query });
  ingest.onReceived((stationId, readings) => warnings.engine.onReadings(stationId, readings));
  // The checks are synchronous; one that throws (SQLite closed) still rejects the promise rather than throwing at the caller.
  const healthNow = (): Promise<Health> =>
    new Promise((resolve) => {
      resolve(health({ broker: brokerCheck(), ...ingest.health(), sqlite: sqliteCheck(db), twilio: providerCheck(db, clock) }));
    });
  const watch = watchDependencies(warnings.notices, healthNow, clock, logger);
  const dashboard = createDashboard({
    db,
    stations,
    settings: warnings.stationSettings,
    alerts: warnings.alerts,
    engine: warnings.engine,
    activity,
    influx,
    queryReadings: query,
    clock,
    logger: logger.child({ module: 'dashboard' }),
    timeZone: settings.TZ_NAME,
  });
  const app = await buildApp({
    logger,
    clock,
    stations,
    readings: { query },
    activity,
    health: healthNow,
    metrics,
    adminToken: adminToken.token,
    auth: userAuth,
    audit: new AuditLog(db, clock),
    tileUrl: settings.MAP_TILE_URL ?? null,
    timeZone: settings.TZ_NAME,
    trustedProxies: settings.HTTP_TRUSTED_PROXIES,
    https: options.tls ?? null,
    warnings: {
      people: warnings.people,
      alerts: warnings.alerts,
      deliveries: warnings.deliveries,
      twilio: { notifier: warnings.notifier, authToken: settings.TWILIO_AUTH_TOKEN ?? null, publicUrl },
      fitModel: (stationId, fromMs, toMs) => warnings.fitModel(stationId, fromMs, toMs),
      setRuleOverrides: (stationId, overrides) => warnings.setRuleOverrides(stationId, overrides),
    },
    dashboard,
  });
  await app.listen({ host: settings.HOST, port: settings.HTTP_PORT });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.HTTP_PORT;

  let closing: Promise<void> | null = null;
  return {
    app,
    url: `${scheme}://${urlHost(settings.HOST)}:${port}`,
    bootstrapUser,
    metrics,
    ingest,
    sink,
    stations,
    authenticator,
    credentialChanges,
    adminToken,
    engine: warnings.engine,
    notifier: warnings.notifier,
    dashboard,
    setBrokerCheck: (check) => {
      brokerCheck = check;
    },
    setConfigPublisher: (publisher) => warnings.engine.setSampling(publisher),
    close: () =>
      (closing ??= closeSteps(logger, [
        ['http', () => app.close()],
        ['dashboard events', () => dashboard.close()],
        ['self-watch', () => clearInterval(watch)],
        ['rule engine', () => warnings.engine.close()],
        ['ingest', () => ingest.close()],
        ['notifier', () => warnings.notifier.close()],
        ['influx client', () => influx.close()],
        ['credential watch', () => credentialChanges.close()],
        ['sqlite', () => db.close()],
      ])),
  };
}

/** In the order data flows; each step bounded by its own logic, a failed one logged and passed. */
async function closeSteps(logger: Logger, steps: Array<[string, () => unknown]>): Promise<void> {
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (error) {
      logger.error({ part: name, err: error instanceof Error ? error.message : String(error) }, 'close failed; going on');
    }
  }
}

/** SQLite or the spool failing means nothing can be stored: down. InfluxDB, the broker or Twilio (failing > 5 min): degraded. */
export function health(checks: { broker: Check; influx: Check; spool: Check; sqlite: Check; twilio?: Check }): Health {
  const down = !checks.sqlite.ok || !checks.spool.ok;
  const degraded = !checks.broker.ok || !checks.influx.ok || checks.twilio?.ok === false;
  return { status: down ? 'down' : degraded ? 'degraded' : 'ok', checks };
}

function sqliteCheck(db: Db): Check {
  try {
    db.prepare('SELECT 1').get();
    return { ok: true };
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import {
  type Clock,
  type CredentialChanges,
  type DeviceDirectory,
  type Health,
  type IngestSink,
  type ServerEnv,
  type StationAuthenticator,
  type Timers,
  nonDecreasing,
} from '../contracts/index.js';
import { buildApp } from './app.js';
import { createSecondChannel } from './ops/second-channel.js';
import type { AppDeps } from './app-deps.js';
import { AuditLog } from './audit/audit-log.js';
import { type AdminToken, resolveAdminToken } from './auth/admin-token.js';
import { ensureBootstrapAdmin } from './auth/bootstrap-admin.js';
import { type CredentialWatch, watchCredentials } from './auth/credential-watch.js';
import { UserAuth } from './auth/sessions.js';
import { CachingStationAuthenticator } from './auth/station-authenticator.js';
import { hashesUnderAnotherKey } from './auth/token-key.js';
import { type Dashboard, createDashboard } from './dashboard/dashboard.js';
import { type InfluxConnection, connectInflux } from './influx/connect.js';
import { startDownsampler } from './influx/downsampler.js';
import { queryReadings } from './influx/readings-query.js';
import { StationActivity, withActivity } from './ingest/activity.js';
import { type IngestService, createIngestService } from './ingest/ingest-service.js';
import { providerCheck } from './notify/provider-health.js';
import { registerOpsMetrics } from './ops-metrics.js';
import { dataPaths } from './paths.js';
import type { Db } from './registry/db.js';
import { openRegistry, registryLocation } from './registry/open.js';
import { deviceDirectory } from './registry/devices.js';
import { IntegrationRepository } from './registry/integrations.js';
import { StationRepository } from './registry/stations.js';
import { StationRefusals } from './ingest/refusals.js';
import { type SourceSettings, buildTtsSource } from './sources/index.js';
import type { TtsSource } from './sources/tts.js';
import type { TtsDownlinkPush } from './warnings/config-publisher.js';
import { type ConfigPublisher, FrostEngine } from './warnings/frost-engine.js';
import { type ChangeListener, listenForChanges } from './registry/change-feed.js';
import { pgRateLimits } from './http-limits-pg.js';
import { type Warnings, startWarnings, watchDependencies } from './warnings/warnings.js';

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
  | 'RULE_ENGINE'
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
> &
  /** Absent (settings built by hand): 400 days, the env default. */
  Partial<Pick<ServerEnv, 'RAW_RETENTION_DAYS'>> &
  /** Issue 16's settings; absent (settings built by hand, as tests do): forecast off, no quiet hours, no survey calls. */
  Partial<Pick<ServerEnv, 'FORECAST_URL' | 'QUIET_HOURS' | 'SMS_REPLIES' | 'SURVEY_CALLS'>> &
  /** Issue 17: absent → `/metrics` open. */
  Partial<Pick<ServerEnv, 'METRICS_TOKEN'>> &
  /** Issue 18: absent → the SQLite registry in DATA_DIR. */
  Partial<Pick<ServerEnv, 'DATABASE_URL'>> &
  /** Issue 17, the second channel: absent → no e-mail, no heartbeat. */
  Partial<Pick<ServerEnv, 'SMTP_URL' | 'SMTP_FROM' | 'SMTP_TO' | 'HEARTBEAT_URL'>> &
  SourceSettings;

export interface Check {
  ok: boolean;
  detail?: string;
}

/** What the broker side is given to build itself: it authenticates stations and hands readings to the sink. */
export interface EdgeParts {
  authenticator: StationAuthenticator;
  /** Ingest, marking each station heard on every durable acceptance. PUBACK waits for it. */
  sink: IngestSink;
  credentialChanges: CredentialChanges;
  stations: StationRepository;
  /** Whose device a message is (sources other than native). */
  devices: DeviceDirectory;
  /** Integration accounts (a ChirpStack's MQTT integration). */
  integrations: IntegrationRepository;
  /** Each station's refusals, tallied by the edge's reject log and shown with the station. */
  refusals: StationRefusals;
  /** The Things Stack's downlink push, when the server runs a TTS client: TTN stations' sampling config. */
  ttnDownlink?: TtsDownlinkPush;
  metrics: Registry;
  clock: Clock;
  logger: Logger;
}

/**
 * Where readings come in and station configs go out: the in-process Aedes gateway (`frostwatch up`) or an MQTT
 * client consuming from a broker (`frostwatch server`). Built with the server, started by its listen step, closed
 * first (no new publishes while the rest drains).
 */
export interface BrokerEdge {
  check(): Check;
  readonly configPublisher: ConfigPublisher;
  start(): Promise<void>;
  close(): Promise<void>;
}

export type EdgeFactory<E extends BrokerEdge> = (parts: EdgeParts) => Promise<E> | E;

export interface ServerDeps<E extends BrokerEdge> {
  settings: ServerSettings;
  /** INFLUX_URL, or the managed influxd's URL. */
  influxUrl: string;
  logger: Logger;
  clock: Clock;
  /** Certificate and key from TLS_CERT_FILE / TLS_KEY_FILE: HTTPS on HTTP_PORT. */
  tls?: { cert: Buffer; key: Buffer } | null;
  /** The broker side; absent: no readings arrive over MQTT and health says so. */
  edge?: EdgeFactory<E>;
  /** Real-time waits (engine tick, notifier, self-watch); default Node's timers. */
  timers?: Timers;
  /**
   * Where the rule engine runs; default settings.RULE_ENGINE. A worker thread runs on real time and the clock's line
   * through now (speed included): tests that step a hand-made clock or fire timers by hand run it `inline`.
   */
  engine?: 'thread' | 'inline';
  /**
   * A cluster's HTTP server (docs/scale-out.md): the workers decide for every station and read the readings log, so
   * this one decides for none — its engine only reads each station's saved state for the dashboard — and has no broker.
   */
  clusterServer?: boolean;
  /** HTTP details tests set: per-address limits, a hook told of every route, another dashboard build. */
  http?: Pick<AppDeps, 'rateLimits' | 'onRoute' | 'dashboardDir'>;
}

/** Every part of the server, built and wired, nothing listening yet. */
export interface AssembledServer<E extends BrokerEdge = BrokerEdge> {
  readonly app: FastifyInstance;
  readonly db: Db;
  readonly influx: InfluxConnection;
  readonly metrics: Registry;
  readonly ingest: IngestService;
  /** The ingest wrapped so every durable acceptance also marks the station as heard. */
  readonly sink: IngestSink;
  readonly activity: StationActivity;
  readonly stations: StationRepository;
  readonly integrations: IntegrationRepository;
  /** Each station's refusals since start, by reason. */
  readonly refusals: StationRefusals;
  readonly authenticator: CachingStationAuthenticator;
  /** Token revocations and rotations, made here or by another process on the registry file (for the gateway). */
  readonly credentialChanges: CredentialWatch;
  readonly adminToken: AdminToken;
  /** The dashboard user created on the very first start (its password is shown once), else null. */
  readonly bootstrapUser: { username: string; password: string } | null;
  readonly auth: UserAuth;
  readonly audit: AuditLog;
  /** Rule engine, alert store, people, outbox and notifier, officer notices. */
  readonly warnings: Warnings;
  readonly dashboard: Dashboard;
  /** The broker side, when one was given. */
  readonly edge: E | null;
  /** The Things Stack client (server/sources/tts.ts), when TTS_MQTT_URL is set. */
  readonly tts: TtsSource | null;
  health(): Promise<Health>;
  /** HTTP on HOST:HTTP_PORT, then the broker edge. Resolves with the URL, e.g. http://127.0.0.1:8080. */
  listen(): Promise<string>;
  /** The URL listen() resolved with; throws before it. */
  readonly url: string;
  /** Broker edge, HTTP, then ingest (drains the spool for a bounded time), notifier, InfluxDB client, SQLite. Idempotent. */
  close(): Promise<void>;
}

/**
 * The one place the server's parts are built and wired: registry, InfluxDB, ingest spool, the warning pipeline,
 * dashboard, HTTP app and the broker edge. `frostwatch up`, `frostwatch server`, the tests and the benchmarks all
 * start the server through it, so what they exercise is what runs.
 */
export async function assembleServer<E extends BrokerEdge = BrokerEdge>(deps: ServerDeps<E>): Promise<AssembledServer<E>> {
  const { settings, logger } = deps;
  // Time only advances for the server's windows (contracts/clock.ts, nonDecreasing): a wall clock stepping back repeats nothing.
  const clock = nonDecreasing(deps.clock, (byMs) =>
    logger.warn({ byMs }, 'the wall clock stepped back: frostwatch holds its time until the clock has caught up'),
  );
  const paths = dataPaths(settings.DATA_DIR);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: 'frostwatch_process_' });

  const registryAt = registryLocation(settings);
  const db = openRegistry(registryAt, logger.child({ module: 'registry' }), { applicationName: 'frostwatch server' });
  const stations = new StationRepository(db, clock);
  const foreign = hashesUnderAnotherKey(stations.tokenHashes().values(), stations.tokenKey);
  if (foreign > 0)
    logger.warn(
      { stations: foreign },
      `${foreign} station token(s) were hashed under another token key than DATA_DIR/token-hmac-key: those stations cannot log in until the key file that goes with this registry is restored, or their tokens are rotated (docs/security.md)`,
    );
  const authenticator = new CachingStationAuthenticator(stations);
  const credentialChanges = watchCredentials({ db, stations, logger: logger.child({ module: 'registry' }) });
  const adminToken = await resolveAdminToken({ configured: settings.ADMIN_TOKEN, dataDir: settings.DATA_DIR, logger });

  const influx = await connectInflux({
    url: deps.influxUrl,
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
  // Retention policies, the 10-minute means CQ and their backfill (InfluxDB 1.x); in the background, intake never waits.
  const downsampler = startDownsampler({
    conn: influx,
    rawDays: settings.RAW_RETENTION_DAYS ?? 400,
    logger: logger.child({ module: 'influx' }),
    metrics,
    ...(deps.timers ? { timers: deps.timers } : {}),
  });
  ingest.onReceived((stationId, readings) => downsampler.noteReadings(stationId, readings));
  const activity = new StationActivity();
  const sink = withActivity(ingest, activity, clock);
  const integrations = new IntegrationRepository(db, clock);
  const devices = deviceDirectory(stations);
  const refusals = new StationRefusals();
  // Sources the server connects out to, beside the edge: started by listen(), closed first.
  const tts = buildTtsSource(settings, { sink, devices, refusals, metrics, clock, logger });
  const ttnDownlink: TtsDownlinkPush | undefined = tts
    ? async (deviceId, fPort, bytes) => {
        if (!(await tts.pushDownlink(deviceId, fPort, bytes)))
          throw new Error(`no TTS downlink for ${deviceId} yet (not heard since start)`);
      }
    : undefined;
  const edge = deps.edge
    ? await deps.edge({
        authenticator,
        sink,
        credentialChanges,
        stations,
        devices,
        integrations,
        refusals,
        ...(ttnDownlink ? { ttnDownlink } : {}),
        metrics,
        clock,
        logger,
      })
    : null;

  const auth = new UserAuth({ db, clock, logger: logger.child({ module: 'auth' }) });
  const audit = new AuditLog(db, clock);
  const bootstrapUser = await ensureBootstrapAdmin(auth.users, settings.DATA_DIR, logger);
  const scheme = deps.tls ? 'https' : 'http';
  const publicUrl = settings.PUBLIC_URL ?? `${scheme}://${urlHost(settings.HOST)}:${settings.HTTP_PORT}`;
  const query: Parameters<typeof startWarnings>[0]['query'] = (id, range) => queryReadings(influx, id, range, downsampler.layout);
  const warnings = startWarnings({
    db,
    stations,
    activity,
    settings,
    publicUrl,
    clock,
    logger,
    metrics,
    query,
    audit,
    ...(edge ? { configPublisher: edge.configPublisher } : {}),
    ...(deps.timers ? { timers: deps.timers } : {}),
    ...(deps.clusterServer === true
      ? { scope: () => false }
      : (deps.engine ?? settings.RULE_ENGINE) === 'thread'
        ? { engineThread: { registry: registryAt } }
        : {}),
  });
  ingest.onReceived((stationId, readings) => warnings.engine.onReadings(stationId, readings));
  // A cluster's server hears of the workers' commits through PostgreSQL, for its live dashboard stream.
  const changeFeed: ChangeListener | null =
    deps.clusterServer === true && settings.DATABASE_URL !== undefined
      ? listenForChanges(settings.DATABASE_URL, logger.child({ module: 'change-feed' }), (change) => {
          if (change.kind === 'alert') warnings.alerts.changedElsewhere(change.id);
          else if (warnings.engine instanceof FrostEngine) warnings.engine.changedElsewhere(change.id);
        })
      : null;
  const brokerCheck = (): Check =>
    edge?.check() ??
    (deps.clusterServer === true
      ? { ok: true, detail: 'cluster: readings reach the workers through the gateways and the readings log' }
      : { ok: false, detail: 'no broker attached' });
  // The checks are synchronous; one that throws (SQLite closed) still rejects the promise rather than throwing at the caller.
  const healthNow = (): Promise<Health> =>
    new Promise((resolve) => {
      resolve(
        health({
          broker: brokerCheck(),
          ...ingest.health(),
          sqlite: sqliteCheck(db),
          twilio: providerCheck(db, clock),
          ruleEngine: warnings.engine.check(),
          ...(tts ? { tts: tts.check() } : {}),
        }),
      );
    });
  const stopWatch = watchDependencies(warnings.notices, healthNow, clock, logger, deps.timers);
  // The chain's own failures by e-mail and heartbeat, a path that shares nothing with Twilio or SQLite (server/ops).
  const secondChannel = createSecondChannel({
    settings,
    health: healthNow,
    clock,
    ...(deps.timers ? { timers: deps.timers } : {}),
    logger,
    metrics,
  });
  secondChannel?.start();
  registerOpsMetrics(metrics, { db, stations, activity, clock, health: healthNow });
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
  // On PostgreSQL the servers of a cluster count each address's requests together.
  const sharedLimits =
    settings.DATABASE_URL === undefined ? null : pgRateLimits(settings.DATABASE_URL, logger.child({ module: 'http-limits' }));
  const app = await buildApp({
    ...(sharedLimits ? { rateLimitStore: sharedLimits.store } : {}),
    logger,
    clock,
    stations,
    integrations,
    readings: { query },
    activity,
    refusals,
    health: healthNow,
    metrics,
    metricsToken: settings.METRICS_TOKEN ?? null,
    adminToken: adminToken.token,
    auth,
    audit,
    tileUrl: settings.MAP_TILE_URL ?? null,
    timeZone: settings.TZ_NAME,
    trustedProxies: settings.HTTP_TRUSTED_PROXIES,
    https: deps.tls ?? null,
    warnings: {
      people: warnings.people,
      alerts: warnings.alerts,
      deliveries: warnings.deliveries,
      twilio: {
        notifier: warnings.notifier,
        authToken: settings.TWILIO_AUTH_TOKEN ?? null,
        publicUrl,
        people: warnings.people,
        choices: warnings.choices,
        surveys: warnings.surveys,
        stations,
        smsReplies: settings.SMS_REPLIES === 'on',
      },
      fitModel: (stationId, fromMs, toMs) => warnings.fitModel(stationId, fromMs, toMs),
      setRuleOverrides: (stationId, overrides) => warnings.setRuleOverrides(stationId, overrides),
      choices: warnings.choices,
      season: { forecast: warnings.forecast, surveys: warnings.surveys, score: (from, to) => warnings.score(from, to) },
    },
    dashboard,
    ...deps.http,
  });

  let url: string | null = null;
  let closing: Promise<void> | null = null;
  return {
    app,
    db,
    influx,
    metrics,
    ingest,
    sink,
    activity,
    stations,
    integrations,
    refusals,
    authenticator,
    credentialChanges,
    adminToken,
    bootstrapUser,
    auth,
    audit,
    warnings,
    dashboard,
    edge,
    tts,
    health: healthNow,
    get url() {
      if (url === null) throw new Error('the server is not listening yet');
      return url;
    },
    listen: async () => {
      await app.listen({ host: settings.HOST, port: settings.HTTP_PORT });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : settings.HTTP_PORT;
      url = `${scheme}://${urlHost(settings.HOST)}:${port}`;
      await edge?.start();
      await tts?.start();
      return url;
    },
    close: () =>
      (closing ??= closeSteps(logger, [
        ['tts source', () => tts?.close()],
        ['broker edge', () => edge?.close()],
        ['http', () => app.close()],
        ['shared rate limits', () => sharedLimits?.close()],
        ['dashboard events', () => dashboard.close()],
        ['self-watch', stopWatch],
        ['second channel', () => secondChannel?.close()],
        ['forecast and survey schedules', () => warnings.stopSchedules()],
        ['change feed', () => changeFeed?.close()],
        ['rule engine', () => warnings.engine.close()],
        ['ingest', () => ingest.close()],
        ['notifier', () => warnings.notifier.close()],
        ['downsampler', () => downsampler.close()],
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

/** SQLite or the spool failing means nothing can be stored: down. InfluxDB, the broker, TTS or Twilio (failing > 5 min): degraded. */
export function health(checks: {
  broker: Check;
  influx: Check;
  spool: Check;
  sqlite: Check;
  twilio?: Check;
  ruleEngine?: Check;
  tts?: Check;
}): Health {
  const down = !checks.sqlite.ok || !checks.spool.ok;
  const degraded =
    !checks.broker.ok || !checks.influx.ok || checks.twilio?.ok === false || checks.ruleEngine?.ok === false || checks.tts?.ok === false;
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

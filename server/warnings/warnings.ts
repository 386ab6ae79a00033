import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RegistryLocation } from '../registry/open.js';
import { type Clock, type Health, type ReadingOut, type SeasonScore, type Timers, maskPhone, systemTimers } from '../../contracts/index.js';
import { nestedOverrides } from '../../frost/index.js';
import { AlertStore } from './alert-store.js';
import { OutboxDeliveryView } from './deliveries.js';
import { ThreadedEngine } from './engine-thread.js';
import { type ConfigPublisher, FrostEngine } from './frost-engine.js';
import { OfficerNotices } from './notices.js';
import { OutboxPlanner } from './planner.js';
import type { RuleEngine } from './rule-engine.js';
import { StationSettingsStore, type StoredFfstModel } from './station-settings.js';
import { type FitResult, fitStationModel } from './model-fit.js';
import type { StationActivity } from '../ingest/activity.js';
import { type Notifier, createNotifier } from '../notify/sender.js';
import { OutboxRepository } from '../notify/outbox.js';
import { createTwilioSender, twilioConfigFromEnv, type TwilioEnv } from '../notify/twilio-client.js';
import type { Db } from '../registry/db.js';
import type { StopHint } from '../../frost/messages.js';
import { ForecastService } from '../forecast/service.js';
import { ForecastStore } from '../forecast/store.js';
import type { OutboxInsert } from '../notify/outbox.js';
import { parseQuietHours } from '../notify/quiet-hours.js';
import { SurveyCalls, type SurveyCallPolicy } from '../surveys/calls.js';
import { frostEventsQuery, seasonScore } from '../surveys/score.js';
import { SurveyStore } from '../surveys/store.js';
import { FarmerChoices } from './farmer-choices.js';
import type { AuditLog } from '../audit/audit-log.js';
import { PeopleRepository } from '../registry/people.js';
import type { StationRepository } from '../registry/stations.js';

export interface Warnings {
  people: PeopleRepository;
  alerts: AlertStore;
  deliveries: OutboxDeliveryView;
  engine: RuleEngine;
  notifier: Notifier;
  notices: OfficerNotices;
  stationSettings: StationSettingsStore;
  /** Store a fitted FFST model for a station; the rules use it from the next reading on. */
  useModel(stationId: string, model: StoredFfstModel): void;
  /** Replace a station's rule overrides; used from the next reading on. */
  useOverrides(stationId: string, overrides: Record<string, number>): void;
  /** Fit a station's FFST model on its stored nights and use it; null for an unknown station. */
  fitModel(stationId: string, fromMs: number, toMs: number): Promise<FitResult | null>;
  /** The API's flat overrides ("qc.stuckDeltaC") saved and used; null for an unknown station. */
  setRuleOverrides(stationId: string, overrides: Record<string, number>): Record<string, number> | null;
  /** Farmers' own choices: stop, start, language, help (farmer-choices.ts). */
  choices: FarmerChoices;
  /** The forecast and the afternoon pre-alert (server/forecast/service.ts). */
  forecast: ForecastService;
  surveys: SurveyStore;
  surveyCalls: SurveyCalls;
  /** The season scored against surveys and station minima, between two nights (YYYY-MM-DD). */
  score(from: string, to: string): Promise<SeasonScore>;
  /** Stop the forecast and survey schedules (before the notifier closes). */
  stopSchedules(): Promise<void>;
}

/**
 * The warning side of the server: rule engine → alert history → outbox → Twilio, and the officer notices.
 * Without Twilio credentials the notifier runs dry: messages are composed and kept as `dry_run`.
 */
export function startWarnings(args: {
  db: Db;
  stations: StationRepository;
  activity: StationActivity;
  settings: TwilioEnv & {
    TZ_NAME: string;
    SMS_SEGMENTS_PER_S: number;
    VOICE_CALLS_PER_S?: number | undefined;
    SMS_SEGMENT_COST_USD: number;
    VOICE_ACK_TIMEOUT_S: number;
    QUIET_HOURS?: string | undefined;
    SMS_REPLIES?: 'on' | 'off' | undefined;
    FORECAST_URL?: string | undefined;
    SURVEY_CALLS?: SurveyCallPolicy | undefined;
    SAMPLING_FAST_S?: number | undefined;
    SAMPLING_RELAXED_S?: number | undefined;
  };
  publicUrl: string;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
  /** Stored readings (InfluxDB), for fitting station models. */
  query: (stationId: string, range: { fromMs: number; toMs: number; every?: string }) => Promise<ReadingOut[]>;
  /** Where the engine publishes station config (adaptive sampling); absent: no broker, nothing published. */
  configPublisher?: ConfigPublisher;
  /** Real-time waits of the engine and the notifier; default Node's timers. */
  timers?: Timers;
  /** Where farmers' choices are recorded (opt-out, language); absent: not recorded. */
  audit?: Pick<AuditLog, 'record'>;
  /**
   * Run the rule engine on a worker thread with its own connection to this SQLite file (engine-thread.ts). Absent: in
   * this thread, on `db` — what tests with a hand-driven clock or timers need, as the thread runs on real time.
   */
  engineThread?: { registry: RegistryLocation };
  /**
   * The stations this process decides for (a cluster worker: those of its partitions; a cluster server: none). The
   * engine ticks them only, and the forecast fetches and survey calls are for them only, so each station's are made
   * by one process. Absent: every station (one process, `frostwatch up`).
   */
  scope?: (stationId: string) => boolean;
}): Warnings {
  const { db, clock, settings } = args;
  const stations = args.stations;
  const scope = args.scope;
  const scopedStations = scope === undefined ? stations : onlyListing(stations, scope);
  const logger = args.logger.child({ module: 'warnings' });
  const timeZone = settings.TZ_NAME;
  const stopHint: StopHint = settings.SMS_REPLIES === 'on' ? 'reply' : 'officer';
  const QUIET_HOURS = settings.QUIET_HOURS ?? 'off';
  const messages = { timeZone, smsCostUsdPerSegment: settings.SMS_SEGMENT_COST_USD, stopHint };
  const quietHours = parseQuietHours(QUIET_HOURS, timeZone);
  const people = new PeopleRepository(db, clock);
  const alerts = new AlertStore(db);
  const twilioConfig = twilioConfigFromEnv(settings, args.publicUrl);
  if (!twilioConfig) logger.warn('no Twilio credentials: warnings are composed and kept in the outbox as dry-run, nothing is sent');

  // Every row goes into one outbox: the planner's inside the engine's commit (the engine wakes the notifier after it),
  // the officer notices' at once. The notifier reports back to the notices (gave up, nobody reached), so the notices
  // wake it through `wake`, which is only ever called once both exist.
  const outbox = new OutboxRepository(db, clock);
  const wake = (): void => notifier.kick();
  const notices = new OfficerNotices({
    people,
    stations,
    activity: args.activity,
    enqueue: (rows) => {
      if (outbox.enqueue(rows).length > 0) wake();
    },
    clock,
    logger,
    timeZone,
    messages,
  });
  const planner = new OutboxPlanner(people, outbox, messages, { hours: quietHours, now: () => clock.now() });
  const notifier = createNotifier({
    db,
    outbox,
    twilio: twilioConfig ? createTwilioSender(twilioConfig) : null,
    clock,
    logger,
    metrics: args.metrics,
    ...(args.timers ? { timers: args.timers } : {}),
    rateLimitPerSec: settings.SMS_SEGMENTS_PER_S,
    callsPerSec: settings.VOICE_CALLS_PER_S ?? 1,
    onGaveUp: (row) => notices.gaveUp(row),
    onUnsubscribed: (row) => {
      if (row.recipientKind === 'farmer') choices.stoppedAtProvider(row.recipientId, row.phone);
    },
    onAcknowledged: (row) => {
      const alertId = row.eventId === null ? null : alertOfEvent(db, row.eventId);
      if (alertId !== null) alerts.acknowledge(alertId, `voice ${maskPhone(row.phone)}`, clock.now());
    },
    escalation: {
      chain: (row) => planner.nextInChain(row),
      onUnreached: (row) => notices.unreached(row),
      ackTimeoutMs: settings.VOICE_ACK_TIMEOUT_S * 1_000,
    },
  });
  const stationSettings = new StationSettingsStore(db);
  const intervalsS = { fastS: settings.SAMPLING_FAST_S ?? 60, relaxedS: settings.SAMPLING_RELAXED_S ?? 300 };
  if (intervalsS.fastS > intervalsS.relaxedS)
    throw new Error(`SAMPLING_FAST_S (${intervalsS.fastS}) must not be longer than SAMPLING_RELAXED_S (${intervalsS.relaxedS})`);
  const engine: RuleEngine = args.engineThread
    ? new ThreadedEngine({
        registry: args.engineThread.registry,
        timeZone,
        smsCostUsdPerSegment: settings.SMS_SEGMENT_COST_USD,
        quietHours: QUIET_HOURS,
        stopHint,
        clock,
        logger,
        metrics: args.metrics,
        sampling: args.configPublisher,
        intervalsS,
        onCommitted: wake,
        onAlertsChanged: (ids) => {
          for (const id of ids) alerts.changedElsewhere(id);
        },
      })
    : new FrostEngine({
        db,
        stations,
        settings: stationSettings,
        alerts,
        planner,
        clock,
        logger,
        timeZone,
        onCommitted: wake,
        sampling: args.configPublisher,
        fastIntervalS: intervalsS.fastS,
        relaxedIntervalS: intervalsS.relaxedS,
        ...(args.timers ? { timers: args.timers } : {}),
        ...(scope ? { owns: scope } : {}),
      });
  engine.start();
  notifier.start();
  const useModel = (stationId: string, model: StoredFfstModel): void => {
    stationSettings.saveFfst(stationId, model);
    engine.forget(stationId);
  };
  const useOverrides = (stationId: string, overrides: Record<string, number>): void => {
    // Flat keys from the API ("qc.stuckDeltaC") become the nested shape rulesFor takes.
    stationSettings.saveOverrides(stationId, nestedOverrides(overrides), clock.now());
    engine.forget(stationId);
  };
  const fitModel = async (stationId: string, fromMs: number, toMs: number): Promise<FitResult | null> => {
    const station = stations.get(stationId);
    if (!station) return null;
    const result = await fitStationModel({ station, fromMs, toMs, nowMs: clock.now(), query: (q) => args.query(station.id, q) });
    if (result.ok) useModel(station.id, result.report.model);
    return result;
  };
  const setRuleOverrides = (stationId: string, overrides: Record<string, number>): Record<string, number> | null => {
    if (!stations.get(stationId)) return null;
    useOverrides(stationId, overrides);
    return overrides;
  };
  const enqueue = (rows: readonly OutboxInsert[]): void => void notifier.enqueue(rows);
  const choices = new FarmerChoices({
    people,
    outbox,
    enqueue,
    clock,
    logger,
    messages,
    stopHint,
    db,
    ...(args.audit ? { audit: args.audit } : {}),
  });
  const forecastStore = new ForecastStore(db);
  const openFrost = db.prepare<[string], { one: number }>(
    "SELECT 1 AS one FROM alerts WHERE station_id = ? AND kind = 'frost' AND status != 'cleared' LIMIT 1",
  );
  const hourly = async (stationId: string, fromMs: number, toMs: number): Promise<ReadingOut[]> =>
    args.query(stationId, { fromMs, toMs, every: '1h' });
  const forecast = new ForecastService({
    store: forecastStore,
    stations: scopedStations,
    allStations: stations,
    people,
    baseUrl: settings.FORECAST_URL === undefined || settings.FORECAST_URL === 'off' ? null : settings.FORECAST_URL,
    enqueue,
    clock,
    ...(args.timers ? { timers: args.timers } : {}),
    logger: logger.child({ part: 'forecast' }),
    timeZone,
    messages,
    stopHint,
    observedMin: async (stationId, fromMs, toMs) => {
      const values = (await hourly(stationId, fromMs, toMs))
        .map((r) => r.airTempMinC ?? r.airTempC)
        .filter((v): v is number => typeof v === 'number');
      return values.length === 0 ? null : Math.min(...values);
    },
    frostAlertOpen: (stationId) => openFrost.get(stationId) !== undefined,
    expirePreAlerts: (reason) => outbox.suppressPendingPurpose('prealert', reason),
  });
  const surveys = new SurveyStore(db, clock);
  const frostEvents = frostEventsQuery(db);
  const surveyCalls = new SurveyCalls({
    policy: settings.SURVEY_CALLS ?? 'off',
    stations: scopedStations,
    people,
    frostEvents,
    enqueue,
    clock,
    ...(args.timers ? { timers: args.timers } : {}),
    quiet: quietHours,
    timeZone,
    logger,
  });
  forecast.start();
  surveyCalls.start();
  const score = (from: string, to: string): Promise<SeasonScore> =>
    seasonScore(
      {
        stations: stations.list(),
        hourly,
        raw: (stationId, fromMs, toMs) => args.query(stationId, { fromMs, toMs }),
        frostEvents,
        prealerts: (f, t) => forecastStore.preAlertsBetween(f, t),
        surveys: (f, t) => surveys.between(f, t),
        timeZone,
        nowMs: clock.now(),
      },
      from,
      to,
    );
  return {
    people,
    alerts,
    deliveries: new OutboxDeliveryView(db, notifier.outbox, people),
    choices,
    forecast,
    surveys,
    surveyCalls,
    score,
    stopSchedules: async () => {
      surveyCalls.stop();
      await forecast.close();
    },
    engine,
    notifier,
    notices,
    stationSettings,
    useModel,
    useOverrides,
    fitModel,
    setRuleOverrides,
  };
}

/** The same repository, whose `list()` holds only the stations in `scope` (everything else reads through). */
export function onlyListing(stations: StationRepository, scope: (stationId: string) => boolean): StationRepository {
  return new Proxy(stations, {
    get(target, property) {
      if (property === 'list') return () => target.list().filter((station) => scope(station.id));
      const value: unknown = Reflect.get(target, property, target);
      // Methods run on the repository itself: its private fields are not the proxy's.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function alertOfEvent(db: Db, eventId: number): number | null {
  const row = db.prepare<[number], { alert_id: number }>('SELECT alert_id FROM alert_events WHERE id = ?').get(eventId);
  return row?.alert_id ?? null;
}

/** Once a (simulated) minute: the evening "armed" SMS and dependency failures, told to officers. Returns stop. */
export function watchDependencies(
  notices: OfficerNotices,
  health: () => Promise<Health>,
  clock: Clock,
  logger: Logger,
  timers: Timers = systemTimers,
): () => void {
  return timers.every(Math.max(1_000, 60_000 / clock.speed), () => {
    void (async () => {
      notices.checkArmed();
      const { checks } = await health();
      for (const [name, check] of Object.entries(checks)) notices.checkDependency(name, check.ok, check.detail);
    })().catch((err: unknown) => logger.error({ err }, 'self-watch failed'));
  });
}

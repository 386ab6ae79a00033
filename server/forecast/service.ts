import type { Logger } from 'pino';
import {
  type Clock,
  type ForecastOverview,
  type ForecastStatus,
  type StationForecast,
  type Timers,
  systemTimers,
} from '../../contracts/index.js';
import {
  CROP_SHIFT_C,
  fitCorrection,
  judgeNight,
  NIGHT_FROM_HOUR,
  NIGHT_TO_HOUR,
  summariseNight,
  type ForecastHour,
  type MinimumCorrection,
} from '../../frost/index.js';
import { localHour, localHourMinute } from '../../frost/local-time.js';
import { composePreAlert, type MessageOptions, type OfficerNotice, type StopHint } from '../../frost/messages.js';
import type { OutboxInsert } from '../notify/outbox.js';
import type { PeopleRepository } from '../registry/people.js';
import type { StationRecord, StationRepository } from '../registry/stations.js';
import { officerSmsRows } from '../warnings/planner.js';
import { addDays, localDate, localMidnightMs } from './local-date.js';
import { groupLocations } from './locations.js';
import { fetchForecasts } from './open-meteo.js';
import type { ForecastStore, Lead, PreAlertRecord } from './store.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const TICK_MS = 10_000;
/** Local hours of the three fetches (issue 16): the morning run, midday, and the one the pre-alert is decided on. */
export const FETCH_HOURS = [6, 12, 15] as const;
/**
 * A forecast is stale when it is older than the slot before the latest one: one failed fetch is tolerated (the
 * 12:00 forecast still decides at 16:00 when the 15:00 fetch failed), two are not. Overnight, between 15:00 and
 * 06:00, the 15:00 forecast stays fresh: nothing is fetched then.
 */
export function staleBefore(now: number, timeZone: string): number {
  const day = localDate(now, timeZone);
  const midnight = (date: string): number => localMidnightMs(date, timeZone);
  // Slots in time order, yesterday's and today's; the latest at or before now, and the one before it.
  const slots = [addDays(day, -1), day].flatMap((d) => FETCH_HOURS.map((h) => midnight(d) + h * HOUR_MS));
  const past = slots.filter((t) => t <= now);
  return past[past.length - 2] ?? slots[0] ?? now;
}
/**
 * A district's summary waits for all of its stations to be decided (a cluster's workers decide for their own) until
 * this many minutes after midnight, local; then it goes with what was decided, naming the rest as without a forecast.
 */
const SUMMARY_ANYWAY_MINUTE = 16 * 60 + 30;
/** After a failed fetch, the next try. */
const RETRY_MS = 15 * MINUTE_MS;
/** The pre-alert goes out between these local hours, or not at all that day. */
export const PREALERT_HOURS = { from: 15, until: 17 } as const;
/** The pre-alert waits for the 15:00 fetch until this local hour, then decides on what it has. */
const DECIDE_ANYWAY_HOUR = 16;
/** The morning after, the station's minimum is read for the correction. */
const OBSERVE_FROM_HOUR = 9;

export interface ForecastServiceOptions {
  store: ForecastStore;
  /** The stations this process fetches and decides for (a cluster worker: its partitions'). */
  stations: StationRepository;
  /** Every station of the registry: a district's summary covers them all. Default: `stations`. */
  allStations?: StationRepository;
  people: PeopleRepository;
  /** FORECAST_URL; null: off. */
  baseUrl: string | null;
  enqueue(rows: readonly OutboxInsert[]): unknown;
  clock: Clock;
  timers?: Timers;
  logger: Logger;
  timeZone: string;
  messages: Partial<MessageOptions>;
  stopHint: StopHint;
  /** The station's coldest reading in a window, from InfluxDB; null when it has none. */
  observedMin(stationId: string, fromMs: number, toMs: number): Promise<number | null>;
  /** Pre-alerts still queued when the window closes are not sent (the evening's ladder has begun); returns how many. */
  expirePreAlerts(reason: string): number;
  /** Whether the station's night ladder is already at Watch or above (tonight's pre-alert would come after it). */
  frostAlertOpen(stationId: string): boolean;
  /** Per-request timeout of the forecast API; default 20 s. */
  timeoutMs?: number;
}

/**
 * The day before (docs/frost-model.md, "Pre-alert"): fetches each station's hourly forecast at 06:00, 12:00 and 15:00
 * local (nearby stations in one request), keeps it, learns each station's correction of the forecast's minimum from
 * the nights that followed, and between 15:00 and 17:00 sends one pre-alert per farmer whose station's tonight or
 * tomorrow night looks like radiative frost — and the officers a commune summary. Fetching never blocks ingest (it is
 * an HTTP request on the event loop's own time), and a forecast that fails or is stale decides nothing: no pre-alert
 * and never an all-clear; the officers are told there was none.
 */
export class ForecastService {
  readonly #o: ForecastServiceOptions;
  readonly #timers: Timers;
  #lastAttemptAt = 0;
  /** The stations the last fetch was for: a station this process takes on since (a partition moved to it) is fetched. */
  #fetchedFor = new Set<string>();
  #ownershipCheckedAt = Number.NEGATIVE_INFINITY;
  #lastFailed = false;
  #inFlight: Promise<void> | null = null;
  /** The last look for stations of this process not decided yet today (once a simulated minute in the window). */
  #decideCheckedAt = Number.NEGATIVE_INFINITY;
  /** `<day>|<district>` whose officers' summary went (or was found to have gone). */
  readonly #summarised = new Set<string>();
  #observedOn: string | null = null;
  #expiredOn: string | null = null;
  #stop: (() => void) | null = null;

  constructor(options: ForecastServiceOptions) {
    this.#o = options;
    this.#timers = options.timers ?? systemTimers;
  }

  get enabled(): boolean {
    return this.#o.baseUrl !== null;
  }

  /**
   * Ticks every 10 (simulated) seconds, at most ten times a real second; the first at once. At ×600 a coarser tick (once a
   * real second: ten simulated minutes) let the evening's first Watch, which may fire from 15:00, beat the pre-alert the
   * 15:00 fetch decides, and tonight dropped out of it (it is left out once the ladder is running). A tick that has nothing to do
   * costs a clock read: a station registered after the start gets its forecast within seconds.
   */
  start(): void {
    if (!this.enabled || this.#stop) return;
    const run = (): void => void this.tick().catch((err: unknown) => this.#o.logger.error({ err }, 'forecast tick failed'));
    this.#stop = this.#timers.every(Math.max(100, TICK_MS / this.#o.clock.speed), run);
    run();
  }

  async close(): Promise<void> {
    this.#stop?.();
    this.#stop = null;
    await this.#inFlight;
  }

  /** One look at the clock: fetch when a slot is due, decide the pre-alert in its window, learn from last night. */
  async tick(): Promise<void> {
    if (!this.enabled) return;
    const now = this.#o.clock.now();
    if (this.#fetchDue(now)) await this.fetchNow();
    const today = localDate(now, this.#o.timeZone);
    const hour = localHour(now, this.#o.timeZone);
    if (hour >= PREALERT_HOURS.from && hour < PREALERT_HOURS.until && now - this.#decideCheckedAt >= MINUTE_MS) {
      const fetchedForSlot = this.#lastAttemptAt >= this.#slotStart(now, PREALERT_HOURS.from) && this.#inFlight === null;
      if (fetchedForSlot || hour >= DECIDE_ANYWAY_HOUR) {
        this.#decideCheckedAt = now;
        this.decide();
      }
    }
    if (this.#expiredOn !== today && hour >= PREALERT_HOURS.until) {
      this.#expiredOn = today;
      const late = this.#o.expirePreAlerts('not sent by 17:00: too late for a pre-alert, the night ladder takes over');
      if (late > 0) this.#o.logger.warn({ late }, 'pre-alerts still queued at 17:00 were not sent (pacing too slow for the district?)');
    }
    if (this.#observedOn !== today && hour >= OBSERVE_FROM_HOUR) {
      this.#observedOn = today;
      await this.observe(today);
    }
  }

  /** Fetch every station's forecast now (one request per 50 places); concurrent calls share one fetch. */
  fetchNow(): Promise<void> {
    this.#inFlight ??= this.#fetch().finally(() => (this.#inFlight = null));
    return this.#inFlight;
  }

  async #fetch(): Promise<void> {
    const { store, clock, timeZone, logger } = this.#o;
    const stations = this.#o.stations.list();
    const at = clock.now();
    // No stations yet: nothing was tried, so the first station registered is fetched at the next tick.
    if (stations.length === 0 || this.#o.baseUrl === null) return;
    this.#lastAttemptAt = at;
    this.#fetchedFor = new Set(stations.map((s) => s.id));
    const locations = groupLocations(stations.map((s) => ({ id: s.id, lat: s.lat, lon: s.lon, elevationM: s.elevationM })));
    const today = localDate(at, timeZone);
    try {
      const hours = await fetchForecasts({
        baseUrl: this.#o.baseUrl,
        locations,
        // Today through the morning after tomorrow night.
        startDate: today,
        endDate: addDays(today, 2),
        timeZone,
        ...(this.#o.timeoutMs === undefined ? {} : { timeoutMs: this.#o.timeoutMs }),
      });
      locations.forEach((loc, i) => store.saveFetch(loc.stationIds, at, hours[i] ?? []));
      this.#lastFailed = false;
      logger.info({ stations: stations.length, places: locations.length }, 'forecast fetched');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      store.saveFailure(
        stations.map((s) => s.id),
        at,
        message,
      );
      this.#lastFailed = true;
      logger.warn({ error: message }, 'forecast fetch failed: the last good forecast is kept and shown as stale');
    }
  }

  #fetchDue(now: number): boolean {
    if (this.#inFlight) return false;
    if (this.#lastAttemptAt === 0) return true; // at start: a fresh install shows a forecast at once
    if (this.#lastFailed && now - this.#lastAttemptAt >= RETRY_MS) return true;
    // A station registered since the last fetch has no forecast at all, and one whose partition moved here has its old
    // owner's, perhaps from yesterday: fetch again, at most once a minute.
    if (now - this.#lastAttemptAt >= MINUTE_MS && now - this.#ownershipCheckedAt >= MINUTE_MS) {
      this.#ownershipCheckedAt = now;
      if (this.#o.store.unfetchedStations() > 0) return true;
      if (this.#o.stations.list().some((s) => !this.#fetchedFor.has(s.id))) return true;
    }
    const slot = this.#latestSlotStart(now);
    return this.#lastAttemptAt < slot;
  }

  /** The start of the latest fetch slot at or before `now`. */
  #latestSlotStart(now: number): number {
    const hour = localHour(now, this.#o.timeZone);
    const slots = FETCH_HOURS.filter((h) => h <= hour);
    const last = slots[slots.length - 1];
    return last === undefined ? this.#slotStart(now - 24 * HOUR_MS, FETCH_HOURS[2]) : this.#slotStart(now, last);
  }

  #slotStart(now: number, hour: number): number {
    return localMidnightMs(localDate(now, this.#o.timeZone), this.#o.timeZone) + hour * HOUR_MS;
  }

  /**
   * The afternoon's decision, for this process's stations not decided yet today (all of them at the first look; in a
   * cluster, later, the stations of a partition taken over from a worker that died before deciding): tonight and
   * tomorrow night of every station with a fresh forecast are judged and kept (the pairs the correction learns from);
   * a frosty night not pre-alerted yet becomes a pre-alert, and each farmer of those stations gets one SMS. Then each
   * district whose stations are all decided — by this process or another — gets its officers' summary.
   */
  decide(): void {
    const { store, clock, timeZone, logger } = this.#o;
    const now = clock.now();
    const today = localDate(now, timeZone);
    const decided = store.decisionsOn(today);
    const mine = this.#o.stations.list().filter((s) => !decided.has(s.id));
    if (mine.length > 0) {
      const covered: { stationId: string; fresh: boolean }[] = [];
      const candidates: { station: StationRecord; record: PreAlertRecord }[] = [];
      for (const station of mine) {
        const state = store.state(station.id);
        const fresh = state !== null && state.fetchedAt !== null && state.fetchedAt >= staleBefore(now, timeZone);
        covered.push({ stationId: station.id, fresh });
        if (!fresh) continue;
        for (const lead of ['tonight', 'tomorrow'] as const) {
          const night = lead === 'tonight' ? today : addDays(today, 1);
          const summary = summariseNight(state.hours, localMidnightMs(night, timeZone));
          if (!summary) continue;
          store.saveNight(station.id, night, lead, state.fetchedAt ?? now, summary);
          const outlook = judgeNight(summary, this.correction(station.id, lead), { cropShiftC: CROP_SHIFT_C[station.crop] });
          if (!outlook.frostLikely) continue;
          // Tonight's ladder already runs: its Watch said it first, and it will confirm or clear.
          if (lead === 'tonight' && this.#o.frostAlertOpen(station.id)) continue;
          candidates.push({
            station,
            record: {
              stationId: station.id,
              night,
              lead,
              decidedAt: now,
              forecastMinC: summary.forecastMinC,
              correctedMinC: outlook.correctedMinC,
              cloudPct: summary.cloudPct,
              windMs: summary.windMs,
              dewPointC: summary.dewPointC,
            },
          });
        }
      }
      const inserted = new Set(
        store.decide(
          today,
          now,
          covered,
          candidates.map((c) => c.record),
        ),
      );
      const fresh = candidates
        .filter((c) => inserted.has(c.record))
        .map((c) => ({ station: c.station, lead: c.record.lead, night: c.record.night, correctedMinC: c.record.correctedMinC }));
      const farmers = this.#farmerRows(today, fresh);
      this.#o.enqueue(farmers);
      logger.info({ prealerts: fresh.length, farmers: farmers.length, stale: covered.filter((c) => !c.fresh).length }, 'pre-alert decided');
    }
    this.#summarise(today, now);
  }

  /**
   * Each district's officers hear of their own district's communes and farmers, once a day: when every station of the
   * district is decided (a cluster's last worker to decide sends it, all workers' pre-alerts in it), or at 16:30 with
   * what was decided. The outbox's key names the day and the officer, so two workers finishing at once send it once.
   */
  #summarise(today: string, now: number): void {
    const { store, timeZone, people } = this.#o;
    const local = localHourMinute(now, timeZone);
    const anyway = local.hour * 60 + local.minute >= SUMMARY_ANYWAY_MINUTE;
    const decided = store.decisionsOn(today);
    const all = (this.#o.allStations ?? this.#o.stations).list();
    const dayStart = localMidnightMs(today, timeZone);
    const todays = store.preAlertsDecidedBetween(dayStart, localMidnightMs(addDays(today, 1), timeZone));
    const rows: OutboxInsert[] = [];
    for (const [districtId, inDistrict] of byDistrict(all.map((station) => ({ station })))) {
      const key = `${today}|${districtId}`;
      if (this.#summarised.has(key)) continue;
      const waiting = inDistrict.filter((s) => !decided.has(s.station.id));
      if (waiting.length > 0 && !anyway) continue;
      this.#summarised.add(key);
      const byId = new Map<string, StationRecord>(inDistrict.map((s) => [s.station.id, s.station]));
      const fresh = todays.flatMap((p) => {
        const station = byId.get(p.stationId);
        return station ? [{ station, lead: p.lead, correctedMinC: p.correctedMinC }] : [];
      });
      if (fresh.length > 0) {
        const told = new Set(fresh.flatMap((p) => people.recipientsFor(p.station.id).map((r) => r.farmerId))).size;
        rows.push(...this.#officerRows(districtId, `prealert:${today}`, summaryNotice(now, fresh, told)));
      }
      // Stations without a fresh forecast, and (at 16:30) those no process decided: the officers are told there was none.
      const unavailable = inDistrict.filter((s) => decided.get(s.station.id) !== true);
      if (unavailable.length > 0) {
        const detail = unavailable.map((s) => store.state(s.station.id)?.lastError).find((e) => e != null) ?? undefined;
        const notice: OfficerNotice = {
          kind: 'forecast_unavailable',
          atMs: now,
          stations: unavailable.length,
          ...(detail ? { detail } : {}),
        };
        rows.push(...this.#officerRows(districtId, `forecast-unavailable:${today}`, notice));
      }
    }
    if (rows.length > 0) this.#o.enqueue(rows);
  }

  #farmerRows(today: string, fresh: readonly { station: StationRecord; lead: Lead; correctedMinC: number }[]): OutboxInsert[] {
    type Plan = {
      nights: Set<Lead>;
      minC: number;
      station: StationRecord;
      recipient: ReturnType<PeopleRepository['recipientsFor']>[number];
    };
    const byFarmer = new Map<number, Plan>();
    for (const p of fresh) {
      for (const r of this.#o.people.recipientsFor(p.station.id)) {
        const atFarm = p.correctedMinC + r.offsetC;
        const plan = byFarmer.get(r.farmerId);
        if (!plan) byFarmer.set(r.farmerId, { nights: new Set([p.lead]), minC: atFarm, station: p.station, recipient: r });
        else {
          plan.nights.add(p.lead);
          if (atFarm < plan.minC) Object.assign(plan, { minC: atFarm, station: p.station, recipient: r });
        }
      }
    }
    return [...byFarmer.values()].map(({ nights, minC, station, recipient: r }) => {
      const sms = composePreAlert(
        {
          nights: (['tonight', 'tomorrow'] as const).filter((n) => nights.has(n)),
          station: station.name,
          commune: station.commune,
          minC,
          language: r.language,
          diacritics: r.diacritics,
          hint: this.#o.stopHint,
        },
        this.#o.messages,
      );
      return {
        dedupeKey: `prealert:${today}:farmer:${r.farmerId}`,
        eventId: null,
        recipientKind: 'farmer',
        recipientId: r.farmerId,
        channel: 'sms',
        phone: r.phone,
        language: r.language,
        body: sms.text,
        encoding: sms.encoding,
        segments: sms.segments,
        costUsd: sms.costUsd,
        purpose: 'prealert',
      } satisfies OutboxInsert;
    });
  }

  /** The notice to the officers of `districtId`, naming the district where the province has several. */
  #officerRows(districtId: string, key: string, notice: OfficerNotice): OutboxInsert[] {
    const district = this.#o.people.districtLabel(districtId);
    const officers = this.#o.people.officersOf(districtId);
    return officerSmsRows(officers, district === undefined ? notice : { ...notice, district }, key, null, {
      ...this.#o.messages,
      timeZone: this.#o.timeZone,
    });
  }

  /** The morning after: each forecast night's station minimum (18:00–07:00), for the correction to learn from. */
  async observe(today: string): Promise<number> {
    const { store, timeZone, logger } = this.#o;
    let learnt = 0;
    for (const { stationId, night } of store.nightsWithoutObservation(today)) {
      const evening = localMidnightMs(night, timeZone);
      try {
        const min = await this.#o.observedMin(stationId, evening + NIGHT_FROM_HOUR * HOUR_MS, evening + (24 + NIGHT_TO_HOUR) * HOUR_MS);
        if (min === null) continue;
        store.setObserved(stationId, night, min);
        learnt += 1;
      } catch (err) {
        logger.warn({ err, stationId, night }, 'could not read the night minimum; tried again tomorrow');
      }
    }
    return learnt;
  }

  /**
   * The station's correction for a lead. A day ahead the forecast errs more, so tomorrow night learns from the
   * forecasts made the day before — once there are enough of them (5); until then it borrows the same-day fit.
   */
  correction(stationId: string, lead: Lead = 'tonight'): MinimumCorrection {
    const tonight = fitCorrection(this.#o.store.pairs(stationId, 'tonight'));
    if (lead === 'tonight') return tonight;
    const ahead = fitCorrection(this.#o.store.pairs(stationId, 'tomorrow'));
    return ahead.kind === 'prior' ? tonight : ahead;
  }

  status(fetchedAt: number | null | undefined): ForecastStatus {
    if (!this.enabled) return 'off';
    if (fetchedAt == null) return 'missing';
    return fetchedAt < staleBefore(this.#o.clock.now(), this.#o.timeZone) ? 'stale' : 'fresh';
  }

  /** GET /api/stations/:id/forecast. */
  stationForecast(station: StationRecord): StationForecast {
    const { store, clock, timeZone } = this.#o;
    const state = store.state(station.id);
    const hours: ForecastHour[] = state?.hours ?? [];
    const correction = this.correction(station.id);
    // Noon to noon: after midnight "tonight" is still the night in progress.
    const today = localDate(clock.now() - 12 * HOUR_MS, timeZone);
    const nights = (['tonight', 'tomorrow'] as const).flatMap((lead) => {
      const night = lead === 'tonight' ? today : addDays(today, 1);
      const summary = summariseNight(hours, localMidnightMs(night, timeZone));
      if (!summary) return [];
      const o = judgeNight(summary, this.correction(station.id, lead), { cropShiftC: CROP_SHIFT_C[station.crop] });
      return [
        {
          night,
          lead,
          forecastMinC: summary.forecastMinC,
          minAt: new Date(summary.minAtMs).toISOString(),
          correctedMinC: o.correctedMinC,
          cloudPct: finite(summary.cloudPct, 100),
          windMs: finite(summary.windMs, 99),
          dewPointC: finite(summary.dewPointC, 99),
          clear: o.clear,
          calm: o.calm,
          dry: o.dry,
          frostLikely: o.frostLikely,
          prealerted: store.hasPreAlert(station.id, night),
        },
      ];
    });
    return {
      stationId: station.id,
      status: this.status(state?.fetchedAt),
      fetchedAt: state?.fetchedAt == null ? null : new Date(state.fetchedAt).toISOString(),
      lastError: state?.lastError ?? null,
      x: hours.map((h) => h.ts / 1_000),
      tempC: hours.map((h) => h.tempC),
      dewPointC: hours.map((h) => h.dewPointC),
      cloudPct: hours.map((h) => h.cloudPct),
      windMs: hours.map((h) => h.windMs),
      nights,
      correction,
    };
  }

  /** GET /api/forecast: the worst status, the stale stations, and the pre-alerts of tonight and tomorrow by commune. */
  overview(): ForecastOverview {
    const { store, clock, timeZone } = this.#o;
    const stations = this.#o.stations.list();
    const states = stations.map((s) => ({ station: s, state: store.state(s.id) }));
    const statuses = states.map(({ state }) => this.status(state?.fetchedAt));
    const rank: ForecastStatus[] = ['fresh', 'stale', 'missing', 'off'];
    const worst = statuses.reduce<ForecastStatus>((w, s) => (rank.indexOf(s) > rank.indexOf(w) ? s : w), this.enabled ? 'fresh' : 'off');
    const fetched = states.map(({ state }) => state?.fetchedAt).filter((t): t is number => typeof t === 'number');
    const today = localDate(clock.now() - 12 * HOUR_MS, timeZone);
    const byCommune = new Map<string, ForecastOverview['prealerts'][number]>();
    const names = new Map<string, StationRecord>(stations.map((s) => [s.id, s]));
    for (const p of store.preAlertsBetween(today, addDays(today, 1))) {
      const station = names.get(p.stationId);
      if (!station) continue;
      const lead = p.night === today ? 'tonight' : 'tomorrow';
      const key = `${p.night}|${station.commune}`;
      const entry = byCommune.get(key);
      if (!entry)
        byCommune.set(key, { night: p.night, lead, commune: station.commune, stations: [station.name], correctedMinC: p.correctedMinC });
      else {
        entry.stations.push(station.name);
        entry.correctedMinC = Math.min(entry.correctedMinC, p.correctedMinC);
      }
    }
    return {
      status: stations.length === 0 && this.enabled ? 'missing' : worst,
      source: this.#o.baseUrl,
      fetchedAt: fetched.length === 0 ? null : new Date(Math.min(...fetched)).toISOString(),
      stale: states.filter((_, i) => statuses[i] === 'stale' || statuses[i] === 'missing').map(({ station }) => station.id),
      prealerts: [...byCommune.values()],
    };
  }
}

/** Items grouped by their station's district, in the order first met. */
function byDistrict<T extends { station: StationRecord }>(items: readonly T[]): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) map.set(item.station.districtId, [...(map.get(item.station.districtId) ?? []), item]);
  return map;
}

function summaryNotice(
  atMs: number,
  fresh: readonly { station: StationRecord; lead: Lead; correctedMinC: number }[],
  farmers: number,
): OfficerNotice {
  const communes = new Map<string, { commune: string; lead: Lead; minC: number }>();
  for (const p of fresh) {
    const key = `${p.station.commune}|${p.lead}`;
    const c = communes.get(key);
    if (!c) communes.set(key, { commune: p.station.commune, lead: p.lead, minC: p.correctedMinC });
    else c.minC = Math.min(c.minC, p.correctedMinC);
  }
  return { kind: 'prealert_summary', atMs, communes: [...communes.values()].sort((a, b) => a.minC - b.minC), farmers };
}

function finite(x: number, fallback: number): number {
  return Number.isFinite(x) ? x : fallback;
}

import type { Logger } from 'pino';
import { type Clock, FROST_RANK, type FrostLevel, type Timers, systemTimers } from '../../contracts/index.js';
import { NIGHT_FROM_HOUR } from '../../frost/index.js';
import { localHour } from '../../frost/local-time.js';
import { CALL_SAY } from '../../frost/messages.js';
import type { OutboxInsert } from '../notify/outbox.js';
import type { QuietHours } from '../notify/quiet-hours.js';
import type { PeopleRepository } from '../registry/people.js';
import type { StationRepository } from '../registry/stations.js';
import { addDays, localDate, localMidnightMs } from '../forecast/local-date.js';
import type { ScoreSources } from './score.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** The morning calls go between these local hours (after the all-clear and the night's work, before midday). */
export const SURVEY_CALL_HOURS = { from: 7, until: 11 } as const;

export type SurveyCallPolicy = 'off' | 'severe' | 'warning';

/**
 * The morning survey call (docs/operations.md, "Damage surveys"): farmers whose station's night reached Severe (or
 * Warning, SURVEY_CALLS=warning) are called once, after 07:00 and after their station's all-clear, and asked to key
 * in what they found (1–4). The answer becomes a survey of their farm (server/routes/twilio.ts); no escalation, no
 * retry beyond the outbox's own.
 */
export class SurveyCalls {
  /** Stations whose calls for a night are queued already, as `night|station`. */
  readonly #called = new Set<string>();
  #stop: (() => void) | null = null;

  constructor(
    private readonly o: {
      policy: SurveyCallPolicy;
      stations: StationRepository;
      people: PeopleRepository;
      frostEvents: ScoreSources['frostEvents'];
      enqueue(rows: readonly OutboxInsert[]): unknown;
      clock: Clock;
      timers?: Timers;
      quiet: QuietHours;
      timeZone: string;
      logger: Logger;
    },
  ) {}

  start(): void {
    if (this.o.policy === 'off' || this.#stop) return;
    const timers = this.o.timers ?? systemTimers;
    this.#stop = timers.every(Math.max(1_000, MINUTE_MS / this.o.clock.speed), () => {
      try {
        this.tick();
      } catch (err) {
        this.o.logger.error({ err }, 'survey calls failed');
      }
    });
  }

  stop(): void {
    this.#stop?.();
    this.#stop = null;
  }

  tick(): number {
    const now = this.o.clock.now();
    const today = localDate(now, this.o.timeZone);
    const hour = localHour(now, this.o.timeZone);
    if (hour < SURVEY_CALL_HOURS.from || hour >= SURVEY_CALL_HOURS.until) return 0;
    return this.callFor(addDays(today, -1));
  }

  /** Enqueue the calls of `night` (its evening's date); the dedupe key makes a second run call nobody twice. */
  callFor(night: string): number {
    if (this.o.policy === 'off') return 0;
    const threshold = FROST_RANK[this.o.policy satisfies FrostLevel];
    const evening = localMidnightMs(night, this.o.timeZone);
    const events = this.o.frostEvents(evening + (NIGHT_FROM_HOUR - 6) * HOUR_MS, this.o.clock.now());
    // Stations whose night reached the level and has ended (its all-clear came after): nobody is asked about damage
    // while the frost is still on.
    const reached = new Set<string>();
    const last = new Map<string, string>();
    for (const e of events) {
      last.set(e.stationId, e.level); // oldest first: the last one is where the station stands
      if (e.level in FROST_RANK && FROST_RANK[e.level as FrostLevel] >= threshold) reached.add(e.stationId);
    }
    const stations = [...reached].filter((id) => last.get(id) === 'all_clear' && !this.#called.has(`${night}|${id}`));
    const now = this.o.clock.now();
    const hold = this.o.quiet.holdUntil(now);
    const rows = new Map<number, OutboxInsert>();
    for (const stationId of stations) {
      if (!this.o.stations.get(stationId)) continue;
      for (const r of this.o.people.recipientsFor(stationId)) {
        if (rows.has(r.farmerId)) continue;
        rows.set(r.farmerId, {
          dedupeKey: `survey:${night}:farmer:${r.farmerId}`,
          eventId: null,
          recipientKind: 'farmer',
          recipientId: r.farmerId,
          channel: 'voice',
          phone: r.phone,
          language: r.language,
          body: CALL_SAY[r.language].survey,
          encoding: 'voice',
          segments: 0,
          costUsd: 0,
          purpose: 'survey',
          ...(hold === null ? {} : { notBeforeMs: hold, heldQuiet: true }),
        });
      }
    }
    this.o.enqueue([...rows.values()]);
    for (const id of stations) this.#called.add(`${night}|${id}`);
    if (rows.size > 0) this.o.logger.info({ night, calls: rows.size }, 'morning survey calls queued');
    return rows.size;
  }
}

import type { Logger } from 'pino';
import { type Clock, maskPhone } from '../../contracts/index.js';
import type { MessageOptions, OfficerNotice } from '../../frost/messages.js';
import type { OutboxInsert, OutboxRow } from '../notify/outbox.js';
import { officerSmsRows } from './planner.js';
import type { PeopleRepository } from '../registry/people.js';
import type { StationRecord, StationRepository } from '../registry/stations.js';
import type { StationActivity } from '../ingest/activity.js';

export interface NoticeOptions {
  people: PeopleRepository;
  stations: StationRepository;
  activity: StationActivity;
  enqueue(rows: readonly OutboxInsert[]): unknown;
  clock: Clock;
  logger: Logger;
  timeZone: string;
  messages: Partial<MessageOptions>;
  /** Local hour of the evening "system armed" SMS; default 17 (before the Watch window closes at 19). */
  armedHour?: number;
  /** A dependency must be failing this long before officers are woken; default 5 min. */
  dependencyGraceMs?: number;
}

/** A station counts as reporting when heard within this long. */
const REPORTING_WITHIN_MS = 15 * 60_000;

/**
 * The chain watches itself (issue: "officers are told"): the evening "system armed: 23/24 stations reporting",
 * InfluxDB / broker / SMS failing, a message given up, a farmer nobody reached. Each notice has a dedupe key,
 * so a restart or a second check never sends it twice.
 */
export class OfficerNotices {
  readonly #o: NoticeOptions;
  readonly #failingSince = new Map<string, number>();
  readonly #announced = new Set<string>();

  constructor(options: NoticeOptions) {
    this.#o = options;
  }

  /** Once a day at the armed hour: how many stations report, to each district's officers about their district's stations. */
  checkArmed(): void {
    const { clock, timeZone } = this.#o;
    const now = clock.now();
    const local = localParts(now, timeZone);
    if (local.hour !== (this.#o.armedHour ?? 17)) return;
    const byDistrict = new Map<string, StationRecord[]>();
    for (const s of this.#o.stations.list()) byDistrict.set(s.districtId, [...(byDistrict.get(s.districtId) ?? []), s]);
    for (const [districtId, stations] of byDistrict) {
      const silent = stations.filter((s) => (this.#o.activity.get(s.id).lastSeenAt ?? 0) < now - REPORTING_WITHIN_MS);
      // The same key in every district: each officer is in one district, and the outbox's key names the officer.
      this.#send(
        `armed:${local.date}`,
        {
          kind: 'system_armed',
          atMs: now,
          reporting: stations.length - silent.length,
          total: stations.length,
          silent: silent.map((s) => s.name),
        },
        districtId,
      );
    }
  }

  /** Called with each health check: a dependency failing longer than the grace period is announced once per outage. */
  checkDependency(name: string, ok: boolean, detail?: string): void {
    const now = this.#o.clock.now();
    const since = this.#failingSince.get(name);
    if (ok) {
      if (since !== undefined && this.#announced.has(`${name}:${since}`)) {
        this.#send(`dependency:${name}:${since}:cleared`, {
          kind: 'dependency_failing',
          state: 'cleared',
          dependency: name,
          atMs: now,
          sinceMs: since,
        });
      }
      this.#failingSince.delete(name);
      return;
    }
    if (since === undefined) return void this.#failingSince.set(name, now);
    if (now - since < (this.#o.dependencyGraceMs ?? 5 * 60_000) || this.#announced.has(`${name}:${since}`)) return;
    this.#announced.add(`${name}:${since}`);
    this.#send(`dependency:${name}:${since}:raised`, {
      kind: 'dependency_failing',
      state: 'raised',
      dependency: name,
      atMs: now,
      sinceMs: since,
      ...(detail ? { detail } : {}),
    });
  }

  /** The outbox gave a message up: an officer has to call that person. */
  gaveUp(row: OutboxRow): void {
    if (row.recipientKind === 'officer') return; // telling officers by SMS that SMS to officers fails helps nobody
    const name = this.#recipientName(row);
    this.#send(
      `gave-up:${row.dedupeKey}`,
      {
        kind: 'delivery_gave_up',
        atMs: this.#o.clock.now(),
        recipientName: name,
        phone: row.phone,
        channel: row.channel,
        attempts: row.attempts,
      },
      this.#districtOf(row),
    );
  }

  /** Nobody in a Severe call's chain pressed 1. */
  unreached(row: OutboxRow): void {
    this.#o.logger.warn({ rowId: row.id, phoneMasked: maskPhone(row.phone) }, 'severe warning not acknowledged by anyone in the chain');
    this.#send(
      `unreached:${row.dedupeKey}`,
      {
        kind: 'delivery_gave_up',
        atMs: this.#o.clock.now(),
        recipientName: this.#recipientName(row),
        phone: row.phone,
        channel: 'voice',
        attempts: row.escalationStep + 1,
      },
      this.#districtOf(row),
    );
  }

  /** A farmer's (or their chain's) delivery concerns the farmer's district; null: a removed farmer, told to every officer. */
  #districtOf(row: OutboxRow): string | null {
    if (row.recipientKind === 'officer') return null;
    return this.#o.people.getFarmer(row.recipientId)?.districtId ?? null;
  }

  #recipientName(row: OutboxRow): string {
    return row.recipientKind === 'officer' ? 'officer' : (this.#o.people.getFarmer(row.recipientId)?.name ?? `#${row.recipientId}`);
  }

  /** To the officers of `districtId`, naming it where there are several; null: to every officer (the system as a whole). */
  #send(key: string, notice: OfficerNotice, districtId: string | null = null): void {
    const people = this.#o.people;
    const district = districtId === null ? undefined : people.districtLabel(districtId);
    const officers = districtId === null ? people.officers() : people.officersOf(districtId);
    const rows = officerSmsRows(officers, district === undefined ? notice : { ...notice, district }, `notice:${key}`, null, {
      ...this.#o.messages,
      timeZone: this.#o.timeZone,
    });
    if (rows.length === 0) this.#o.logger.warn({ notice: notice.kind }, 'no officer registered to tell');
    this.#o.enqueue(rows);
  }
}

function localParts(ms: number, timeZone: string): { date: string; hour: number } {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { date: `${get('year')}-${get('month')}-${get('day')}`, hour: Number(get('hour')) };
}

import type { FrostDecision, OfficerDecision } from '../../contracts/index.js';
import {
  composeFarmerMessage,
  composeOfficerMessage,
  composeVoiceScript,
  type MessageOptions,
  type OfficerNotice,
} from '../../frost/messages.js';
import type { OutboxInsert, OutboxRepository, OutboxRow } from '../notify/outbox.js';
import type { QuietHours } from '../notify/quiet-hours.js';
import type { ChainStep } from '../notify/escalation.js';
import type { OfficerRecord, PeopleRepository, Recipient } from '../registry/people.js';
import type { StationRecord } from '../registry/stations.js';
import type { AppliedDecision } from './alert-store.js';
import type { NotificationPlanner } from './frost-engine.js';

/**
 * Decides who is told what about each applied decision and puts it in the outbox — inside the engine's
 * transaction, so a transition and its messages are recorded together or not at all. One row per
 * (event, recipient, channel): the dedupe key makes a replayed decision enqueue nothing new.
 */
export class OutboxPlanner implements NotificationPlanner {
  constructor(
    private readonly people: PeopleRepository,
    private readonly outbox: Pick<OutboxRepository, 'enqueue' | 'supersedeHeld'>,
    private readonly options: Partial<MessageOptions>,
    /** Quiet hours hold the all-clear (quiet-hours.ts); `now` is the engine's clock. Absent: nothing is held. */
    private readonly quiet: { hours: QuietHours; now: () => number } | null = null,
  ) {}

  plan(applied: AppliedDecision, station: StationRecord): void {
    const { decision } = applied;
    if (!decision.notify) return;
    const rows =
      decision.kind === 'frost'
        ? this.#farmerRows(applied.eventId, decision, station)
        : this.#officerRows(applied.eventId, decision, station);
    this.outbox.enqueue(rows);
  }

  #farmerRows(eventId: number, decision: FrostDecision, station: StationRecord): OutboxInsert[] {
    const rows: OutboxInsert[] = [];
    const composed = new Map<string, { sms: ReturnType<typeof composeFarmerMessage>; voice: string | null }>();
    // The all-clear can wait for the morning; a warning never does, and replaces an all-clear still waiting.
    const allClear = decision.to === 'all_clear';
    const holdUntil = allClear && this.quiet ? this.quiet.hours.holdUntil(this.quiet.now()) : null;
    const timing: Pick<OutboxInsert, 'purpose' | 'notBeforeMs' | 'heldQuiet'> = allClear
      ? { purpose: 'all_clear', ...(holdUntil === null ? {} : { notBeforeMs: holdUntil, heldQuiet: true }) }
      : { purpose: 'warning' };
    for (const recipient of this.people.recipientsFor(station.id)) {
      if (!allClear) this.outbox.supersedeHeld(recipient.farmerId);
      // Composing costs milliseconds; farmers who read the same text share it.
      const key = `${recipient.language}|${recipient.diacritics}|${recipient.offsetC}`;
      let texts = composed.get(key);
      if (!texts) {
        const input = { decision, station, language: recipient.language, diacritics: recipient.diacritics, offsetC: recipient.offsetC };
        texts = {
          sms: composeFarmerMessage(input, this.options),
          voice: decision.to === 'severe' ? composeVoiceScript(input, this.options).text : null,
        };
        composed.set(key, texts);
      }
      rows.push({ ...farmerRow(eventId, recipient, 'sms', texts.sms.text, texts.sms), ...timing });
      if (texts.voice !== null)
        rows.push({ ...farmerRow(eventId, recipient, 'voice', texts.voice, { encoding: 'voice', segments: 0, costUsd: 0 }), ...timing });
    }
    return rows;
  }

  #officerRows(eventId: number, decision: OfficerDecision, station: StationRecord): OutboxInsert[] {
    // A station's health goes to the officers of its district, and names the district where there are several.
    const district = this.people.districtLabel(station.districtId);
    const notice: OfficerNotice = { ...officerNotice(decision, station), ...(district === undefined ? {} : { district }) };
    return officerSmsRows(this.people.officersOf(station.districtId), notice, `event:${eventId}`, eventId, this.options);
  }

  /** The escalation chain of a Severe call: after the farmer (step 0), their contacts in order. */
  nextInChain(row: OutboxRow): ChainStep | null {
    if (row.recipientKind === 'officer') return null;
    const contact = this.people.escalationChain(row.recipientId)[row.escalationStep];
    if (!contact) return null;
    return { recipientKind: 'contact', recipientId: row.recipientId, phone: contact.phone, language: row.language };
  }
}

/** The same notice to every officer, each in their language; `keyPrefix` makes it once per officer. */
export function officerSmsRows(
  officers: readonly OfficerRecord[],
  notice: OfficerNotice,
  keyPrefix: string,
  eventId: number | null,
  options: Partial<MessageOptions>,
): OutboxInsert[] {
  return officers.map((officer) => {
    const sms = composeOfficerMessage(notice, officer.language, options);
    return {
      dedupeKey: `${keyPrefix}:officer:${officer.id}:sms`,
      eventId,
      recipientKind: 'officer',
      recipientId: officer.id,
      channel: 'sms',
      phone: officer.phone,
      language: officer.language,
      body: sms.text,
      encoding: sms.encoding,
      segments: sms.segments,
      costUsd: sms.costUsd,
    };
  });
}

function farmerRow(
  eventId: number,
  r: Recipient,
  channel: 'sms' | 'voice',
  body: string,
  m: { encoding: string; segments: number; costUsd: number },
): OutboxInsert {
  return {
    dedupeKey: `event:${eventId}:farmer:${r.farmerId}:${channel}`,
    eventId,
    recipientKind: 'farmer',
    recipientId: r.farmerId,
    channel,
    phone: r.phone,
    language: r.language,
    body,
    encoding: m.encoding,
    segments: m.segments,
    costUsd: m.costUsd,
    escalationStep: 0,
  };
}

function officerNotice(d: OfficerDecision, station: StationRecord): OfficerNotice {
  const ref = { name: station.name, commune: station.commune };
  switch (d.kind) {
    case 'station_offline':
      return {
        kind: 'station_offline',
        state: d.state,
        station: ref,
        atMs: d.atMs,
        lastSeenMs: d.inputs.readingTs > 0 ? d.inputs.readingTs : null,
      };
    case 'sensor_fault':
      return { kind: 'sensor_fault', state: d.state, station: ref, atMs: d.atMs, detail: d.reason };
    case 'low_battery':
      return { kind: 'low_battery', state: d.state, station: ref, atMs: d.atMs, batteryV: d.inputs.batteryV };
  }
}

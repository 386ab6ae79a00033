import type { Logger } from 'pino';
import { type Clock, maskPhone } from '../../contracts/index.js';
import { composeChoiceReply, type FarmerChoice, type MessageOptions, type StopHint } from '../../frost/messages.js';
import type { OutboxInsert, OutboxRepository } from '../notify/outbox.js';
import type { FarmerRecord, OptOutVia, PeopleRepository } from '../registry/people.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Db } from '../registry/db.js';

/** Who made the choice, for the audit log: the farmer through Twilio, or a signed-in officer. */
export interface ChoiceActor {
  kind: 'twilio' | 'user';
  name: string;
  remoteAddr?: string | null;
}

/** One opt-out or opt-in as the audit log keeps it, for the officers' list. */
export interface OptOutEvent {
  at: number;
  farmerId: number;
  optedOut: boolean;
  via: OptOutVia;
  actor: string;
}

const ACTION: Record<FarmerChoice, string> = {
  stop: 'farmer.opt_out',
  start: 'farmer.opt_in',
  en: 'farmer.language',
  vi: 'farmer.language',
  help: 'farmer.help',
};

export interface ChoiceResult {
  farmer: FarmerRecord;
  /** False when the farmer already was as asked (stop twice): still confirmed, nothing else changes. */
  changed: boolean;
}

/**
 * A farmer's own choices (docs/operations.md, "Farmers in control"), whichever way they arrive — an SMS reply, a
 * keypress at the end of a call, or an officer on the farmer's page: stop, start again, English or Vietnamese, help.
 * Each is confirmed by one SMS (purpose `reply`, which an opt-out never suppresses), in the language now chosen.
 * Stopping suppresses what is still queued for the farmer and their escalation chain.
 */
export class FarmerChoices {
  constructor(
    private readonly o: {
      people: PeopleRepository;
      outbox: Pick<OutboxRepository, 'suppressPendingOf'>;
      enqueue(rows: readonly OutboxInsert[]): unknown;
      clock: Clock;
      logger: Logger;
      messages: Partial<MessageOptions>;
      stopHint: StopHint;
      /** The audit log: every choice is recorded, so officers see who stopped and when. Absent: not recorded. */
      audit?: Pick<AuditLog, 'record'>;
      db?: Db;
    },
  ) {}

  apply(farmerId: number, choice: FarmerChoice, via: OptOutVia, actor: ChoiceActor): ChoiceResult | null {
    const { people, logger } = this.o;
    let result: ChoiceResult | null;
    switch (choice) {
      case 'stop':
      case 'start':
        result = people.setOptOut(farmerId, choice === 'stop', via);
        if (result?.changed && choice === 'stop') {
          const suppressed = this.o.outbox.suppressPendingOf(farmerId, `farmer opted out (${via})`);
          if (suppressed > 0) logger.info({ farmerId, suppressed }, 'queued messages suppressed by an opt-out');
        }
        break;
      case 'en':
      case 'vi': {
        const before = people.getFarmer(farmerId);
        const farmer = before ? people.setLanguage(farmerId, choice) : null;
        result = before && farmer ? { farmer, changed: before.language !== choice } : null;
        break;
      }
      case 'help': {
        const farmer = people.getFarmer(farmerId);
        result = farmer ? { farmer, changed: false } : null;
        break;
      }
    }
    if (!result) return null;
    logger.info({ farmerId, choice, via, changed: result.changed, phoneMasked: maskPhone(result.farmer.phone) }, 'farmer choice');
    this.o.audit?.record({
      actorKind: actor.kind,
      actor: actor.name,
      action: ACTION[choice],
      target: String(farmerId),
      outcome: 'ok',
      statusCode: 200,
      remoteAddr: actor.remoteAddr ?? null,
      details: { via, choice, changed: result.changed, phone: maskPhone(result.farmer.phone) },
    });
    this.#confirm(result.farmer, choice, via);
    return result;
  }

  /**
   * Twilio refused to send to the farmer (error 21610): they replied STOP to Twilio's own opt-out, which frostwatch's
   * webhook may never have seen (a messaging service with its own opt-out handling). The farmer is marked as stopped,
   * by SMS, so warnings are not composed for a number that cannot receive them; no confirmation (Twilio sends its own,
   * and would refuse ours). Twilio's START lifts Twilio's block; the farmer's TIEP reaches the webhook and resumes.
   */
  stoppedAtProvider(farmerId: number, phone: string): void {
    const result = this.o.people.setOptOut(farmerId, true, 'sms');
    if (!result?.changed) return;
    this.o.outbox.suppressPendingOf(farmerId, 'farmer opted out with Twilio (error 21610)');
    this.o.logger.warn({ farmerId, phoneMasked: maskPhone(phone) }, 'Twilio says the farmer opted out (21610): warnings stopped');
    this.o.audit?.record({
      actorKind: 'twilio',
      actor: 'twilio opt-out',
      action: ACTION.stop,
      target: String(farmerId),
      outcome: 'ok',
      statusCode: 200,
      remoteAddr: null,
      details: { via: 'sms', choice: 'stop', changed: true, twilioError: 21610, phone: maskPhone(phone) },
    });
  }

  /** The latest opt-outs and opt-ins, newest first, from the audit log. */
  history(limit = 200): OptOutEvent[] {
    if (!this.o.db) return [];
    const rows = this.o.db
      .prepare<[number], { at: number; action: string; target: string; actor: string; details: string | null }>(
        `SELECT at, action, target, actor, details FROM audit_log WHERE action IN ('farmer.opt_out', 'farmer.opt_in')
         AND outcome = 'ok' ORDER BY id DESC LIMIT ?`,
      )
      .all(limit);
    return rows.flatMap((r) => {
      const details = r.details === null ? {} : (JSON.parse(r.details) as { via?: OptOutVia; changed?: boolean });
      if (details.changed === false) return [];
      return [
        { at: r.at, farmerId: Number(r.target), optedOut: r.action === 'farmer.opt_out', via: details.via ?? 'officer', actor: r.actor },
      ];
    });
  }

  #confirm(farmer: FarmerRecord, choice: FarmerChoice, via: OptOutVia): void {
    const sms = composeChoiceReply(choice, farmer.language, this.o.stopHint, farmer.diacritics, this.o.messages);
    const at = Math.round(this.o.clock.now());
    this.o.enqueue([
      {
        // One confirmation per request: a farmer who asks twice is told twice, which is what they expect.
        dedupeKey: `reply:${farmer.id}:${choice}:${via}:${at}`,
        eventId: null,
        recipientKind: 'farmer',
        recipientId: farmer.id,
        channel: 'sms',
        phone: farmer.phone,
        language: farmer.language,
        body: sms.text,
        encoding: sms.encoding,
        segments: sms.segments,
        costUsd: sms.costUsd,
        purpose: 'reply',
      },
    ]);
  }
}

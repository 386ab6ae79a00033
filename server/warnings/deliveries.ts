import type { Statement } from '../registry/sql.js';
import { type Delivery, type Unreached, maskPhone } from '../../contracts/index.js';
import type { OutboxRepository, OutboxRow } from '../notify/outbox.js';
import type { Db } from '../registry/db.js';
import type { PeopleRepository } from '../registry/people.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Read side of the outbox for officers. */
export interface DeliveryView {
  forAlert(alertId: number): Delivery[];
  /** Recipients of alerts since `sinceMs` with no delivered SMS and no acknowledged call. */
  unreached(sinceMs: number): Unreached[];
}

/** The outbox as officers read it: who was sent what for an alert, and who nothing has reached. Phones masked. */
export class OutboxDeliveryView implements DeliveryView {
  readonly #events: Statement<[number], { id: number }>;
  readonly #alertOf: Statement<[number], { alert_id: number; station_id: string }>;

  constructor(
    db: Db,
    private readonly outbox: OutboxRepository,
    private readonly people: PeopleRepository,
  ) {
    this.#events = db.prepare('SELECT id FROM alert_events WHERE alert_id = ? ORDER BY id');
    this.#alertOf = db.prepare('SELECT e.alert_id, a.station_id FROM alert_events e JOIN alerts a ON a.id = e.alert_id WHERE e.id = ?');
  }

  forAlert(alertId: number): Delivery[] {
    return this.#events.all(alertId).flatMap(({ id }) => this.outbox.forEvent(id).map((row) => this.#delivery(row)));
  }

  unreached(sinceMs: number): Unreached[] {
    return this.outbox.unreached(sinceMs).map((u) => {
      const alert = this.#alertOf.get(u.eventId);
      return {
        eventId: u.eventId,
        alertId: alert?.alert_id ?? null,
        stationId: alert?.station_id ?? null,
        recipientKind: u.recipientKind,
        recipientId: u.recipientId,
        recipientName: this.#name(u.recipientKind, u.recipientId, 0),
        phone: maskPhone(u.phone),
        statuses: u.statuses,
        lastUpdatedAt: new Date(u.lastUpdatedAt).toISOString(),
      };
    });
  }

  #delivery(row: OutboxRow): Delivery {
    return {
      id: row.id,
      eventId: row.eventId,
      recipientKind: row.recipientKind,
      recipientId: row.recipientId,
      recipientName: this.#name(row.recipientKind, row.recipientId, row.escalationStep),
      phone: maskPhone(row.phone),
      channel: row.channel,
      status: row.status,
      body: row.body,
      segments: row.segments,
      costUsd: row.costUsd,
      attempts: row.attempts,
      escalationStep: row.escalationStep,
      createdAt: new Date(row.createdAt).toISOString(),
      updatedAt: new Date(row.updatedAt).toISOString(),
      acknowledgedAt: iso(row.ackedAt),
      lastError: row.lastError,
    };
  }

  #name(kind: OutboxRow['recipientKind'], id: number, step: number): string | null {
    if (kind === 'officer') return this.people.officers().find((o) => o.id === id)?.name ?? null;
    const farmer = this.people.getFarmer(id);
    if (!farmer) return null;
    if (kind === 'farmer') return farmer.name;
    const contact = farmer.contacts[step - 1];
    return contact ? `${contact.name} (${farmer.name})` : null;
  }
}

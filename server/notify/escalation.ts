import type { Logger } from 'pino';
import { maskPhone, type Clock } from '../../contracts/index.js';
import { safely } from './safely.js';
import { escalationKey, escalationRootKey, type Language, type OutboxRepository, type OutboxRow, type RecipientKind } from './outbox.js';

/** Who to call next in a chain (docs/operations.md: second household number, village head, officer). */
export interface ChainStep {
  recipientKind: RecipientKind;
  recipientId: number;
  phone: string;
  language: Language;
  /** What the call says; default the unacknowledged call's text (same language assumed). */
  body?: string;
}

export interface EscalationOptions {
  /** The step after `row` (whose `escalationStep` is k), or null at the end of the chain. */
  chain(row: OutboxRow): ChainStep | null;
  /**
   * Nobody in the chain acknowledged `row`'s alert. May be called again for the same row after a
   * restart (no column records it), so enqueue through a dedupe key such as `unreached:${row.dedupeKey}`.
   */
  onUnreached?(row: OutboxRow): void;
  /** Clock time to wait for a keypress after the call ended; default 10 min. */
  ackTimeoutMs?: number;
  /** A placed call whose end Twilio never reported counts as ended after this; default 3 × ackTimeoutMs. */
  lostCallbackMs?: number;
  /** Older calls are not escalated any more (a restart after days must not ring people about last week); default 12 h. */
  lookbackMs?: number;
  /** Real time between scans while the notifier runs; default 5 s. */
  scanEveryMs?: number;
}

export interface Escalation {
  /** One scan: enqueue the next step of every chain that is due, report chains that ran out. */
  check(): { escalated: OutboxRow[]; unreached: OutboxRow[] };
  readonly scanEveryMs: number;
}

export const DEFAULT_ACK_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_LOOKBACK_MS = 12 * 3_600_000;
const DEFAULT_SCAN_EVERY_MS = 5_000;

export function createEscalation(deps: { outbox: OutboxRepository; clock: Clock; logger: Logger }, options: EscalationOptions): Escalation {
  const { outbox, clock, logger } = deps;
  const ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
  const windows = {
    ackTimeoutMs,
    lostCallbackMs: options.lostCallbackMs ?? 3 * ackTimeoutMs,
    lookbackMs: options.lookbackMs ?? DEFAULT_LOOKBACK_MS,
  };
  // End-of-chain rows keep matching the candidate query; this keeps onUnreached to once per process.
  const reported = new Set<number>();

  function escalate(row: OutboxRow, next: ChainStep): OutboxRow[] {
    const step = row.escalationStep + 1;
    return outbox.enqueue([
      {
        dedupeKey: escalationKey(escalationRootKey(row), step),
        eventId: row.eventId,
        recipientKind: next.recipientKind,
        recipientId: next.recipientId,
        channel: 'voice',
        phone: next.phone,
        language: next.language,
        body: next.body ?? row.body,
        encoding: row.encoding,
        segments: row.segments,
        costUsd: row.costUsd,
        escalationStep: step,
      },
    ]);
  }

  return {
    scanEveryMs: options.scanEveryMs ?? DEFAULT_SCAN_EVERY_MS,
    check() {
      const escalated: OutboxRow[] = [];
      const unreached: OutboxRow[] = [];
      for (const row of outbox.escalationCandidates(clock.now(), windows)) {
        if (reported.has(row.id)) continue;
        const next = options.chain(row);
        if (next === null) {
          reported.add(row.id);
          unreached.push(row);
          logger.warn(
            { outboxId: row.id, step: row.escalationStep, phone: maskPhone(row.phone) },
            'escalation chain exhausted without acknowledgement',
          );
          safely(logger, 'onUnreached', () => options.onUnreached?.(row));
          continue;
        }
        const created = escalate(row, next);
        escalated.push(...created);
        for (const call of created) {
          logger.info(
            { outboxId: call.id, from: row.id, step: call.escalationStep, phone: maskPhone(call.phone) },
            'call not acknowledged: calling the next contact',
          );
        }
      }
      return { escalated, unreached };
    },
  };
}

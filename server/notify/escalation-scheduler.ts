import type { Logger } from 'pino';
import type { Timers } from '../../contracts/index.js';
import type { Escalation } from './escalation.js';
import { safely } from './safely.js';

export type EscalationResult = ReturnType<Escalation['check']>;

/** When the escalation scan runs; what it does is escalation.ts. */
export interface EscalationScheduler {
  /** One scan now; wakes the worker when it enqueued a call. */
  check(): EscalationResult;
  /** Scan every `escalation.scanEveryMs` of real time until `stop`. A second start does nothing. */
  start(): void;
  /** Idempotent. */
  stop(): void;
}

export function createEscalationScheduler(deps: {
  escalation: Escalation;
  timers: Timers;
  logger: Logger;
  /** Calls were enqueued: the worker should look now rather than at its next poll. */
  onEscalated(): void;
}): EscalationScheduler {
  const { escalation, timers, logger } = deps;
  let stopTimer: (() => void) | null = null;

  function check(): EscalationResult {
    const result = escalation.check();
    if (result.escalated.length > 0) deps.onEscalated();
    return result;
  }

  return {
    check,
    start() {
      // A failed scan (the database locked) is logged; the next one, a few seconds later, finds the same calls.
      stopTimer ??= timers.every(escalation.scanEveryMs, () => safely(logger, 'escalation', () => check()));
    },
    stop() {
      stopTimer?.();
      stopTimer = null;
    },
  };
}

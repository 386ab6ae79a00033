import type { Clock } from '../../contracts/index.js';
import type { Db } from '../registry/db.js';

export interface ProviderCheck {
  ok: boolean;
  detail?: string;
}

/** The threshold: a provider failing for more than five minutes is worth an operator's look. */
export const PROVIDER_FAILING_AFTER_MS = 5 * 60_000;

/**
 * Twilio as the outbox sees it: failing when a message has been waiting, after at least one failed attempt,
 * for longer than `failingAfterMs`. Read from SQLite, so it survives restarts and counts every process' rows.
 * Dry run (no credentials) is not a failure: nothing is meant to leave.
 */
export function providerCheck(db: Db, clock: Clock, failingAfterMs: number = PROVIDER_FAILING_AFTER_MS): ProviderCheck {
  const retrying = "status IN ('pending', 'sending') AND attempts > 0 AND last_error IS NOT NULL";
  const row = db
    .prepare<[], { n: number; oldest: number; error: string | null }>(
      `SELECT created_at AS oldest, last_error AS error, (SELECT COUNT(*) FROM outbox WHERE ${retrying}) AS n
         FROM outbox WHERE ${retrying} ORDER BY created_at LIMIT 1`,
    )
    .get();
  if (row === undefined) return { ok: true };
  const waitedMs = clock.now() - row.oldest;
  const detail = `${row.n} message(s) retrying, the oldest for ${Math.round(waitedMs / 1_000)} s; last error: ${row.error ?? 'unknown'}`;
  return waitedMs > failingAfterMs ? { ok: false, detail } : { ok: true, detail };
}

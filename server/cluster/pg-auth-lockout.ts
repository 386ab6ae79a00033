import pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../../contracts/index.js';
import type { LockoutPolicy, SharedLockout } from '../../gateway/auth-lockout.js';

/**
 * The MQTT login lockout's counts in PostgreSQL, so that every gateway of a cluster counts a (station, address)
 * together (docs/scale-out.md): 10 wrong tokens lock it out however the balancer spread them, not 10 at each gateway.
 * Like the HTTP rate limits (server/http-limits-pg.ts): one UNLOGGED table — counts that may be lost in a database
 * crash are not worth a WAL write — made by the first gateway, on a small pool of its own, asynchronous, so a CONNECT
 * never holds the event loop. Times are the gateways' shared clock (SIM_CLOCK in an accelerated night).
 */
const TABLE = 'mqtt_auth_lockouts';

export interface PgAuthLockout extends SharedLockout {
  close(): Promise<void>;
}

export function pgAuthLockout(url: string, policy: LockoutPolicy, clock: Clock, logger: Logger): PgAuthLockout {
  const pool = new pg.Pool({ connectionString: url, max: 4, application_name: 'frostwatch gateway lockout' });
  pool.on('error', (err) => logger.warn({ err: err.message }, 'login lockout: PostgreSQL connection lost'));
  let ready: Promise<unknown> | null = null;
  const ensureTable = (): Promise<unknown> =>
    (ready ??= pool
      .query(
        `CREATE UNLOGGED TABLE IF NOT EXISTS ${TABLE} (
           key TEXT PRIMARY KEY, failures INTEGER NOT NULL, window_start BIGINT NOT NULL, locked_until BIGINT NOT NULL)`,
      )
      .catch((err: unknown) => {
        ready = null; // try again with the next login
        throw err;
      }));
  // Pairs neither locked nor inside a window are of no use: cleared now and then.
  const prune = setInterval(() => {
    const now = clock.now();
    void pool
      .query(`DELETE FROM ${TABLE} WHERE locked_until <= $1 AND window_start < $2`, [now, now - policy.windowMs])
      .catch(() => undefined);
  }, 60_000);
  prune.unref();

  const lockedUntil = async (key: string): Promise<number> => {
    await ensureTable();
    const result = await pool.query<{ locked_until: string }>(`SELECT locked_until FROM ${TABLE} WHERE key = $1`, [key]);
    const until = Number(result.rows[0]?.locked_until ?? 0);
    return until > clock.now() ? until : 0;
  };

  return {
    lockedUntil,
    async failed(key) {
      await ensureTable();
      const now = clock.now();
      // Counted unless locked already (a locked pair's attempts are refused before any token check); a window that
      // has passed starts again. The lockout begins in a second statement, which the row's lock lets one gateway win.
      await pool.query(
        `INSERT INTO ${TABLE} AS l (key, failures, window_start, locked_until) VALUES ($1, 1, $2, 0)
         ON CONFLICT (key) DO UPDATE SET
           failures = CASE WHEN l.locked_until > $2 THEN l.failures WHEN $2 - l.window_start > $3 THEN 1 ELSE l.failures + 1 END,
           window_start = CASE WHEN l.locked_until > $2 OR $2 - l.window_start <= $3 THEN l.window_start ELSE $2 END`,
        [key, now, policy.windowMs],
      );
      const began = await pool.query<{ locked_until: string }>(
        `UPDATE ${TABLE} SET locked_until = $2 + $4, failures = 0, window_start = $2
          WHERE key = $1 AND failures >= $3 AND locked_until <= $2 RETURNING locked_until`,
        [key, now, policy.maxFailures, policy.cooldownMs],
      );
      const row = began.rows[0];
      if (row !== undefined) return { lockedUntil: Number(row.locked_until), began: true };
      return { lockedUntil: await lockedUntil(key), began: false };
    },
    async succeeded(key) {
      await ensureTable();
      // The count starts again; a lockout in force stays (only a token verified since start gets past it).
      await pool.query(`DELETE FROM ${TABLE} WHERE key = $1 AND locked_until <= $2`, [key, clock.now()]);
    },
    close: async () => {
      clearInterval(prune);
      await pool.end();
    },
  };
}

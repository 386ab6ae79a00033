import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import pg from 'pg';
import type { Logger } from 'pino';

/**
 * The HTTP rate limits' counters in PostgreSQL, so that every HTTP server of a cluster counts one address together
 * (docs/scale-out.md): an address limited to 10 sign-ins a minute gets 10 across the servers, not 10 at each. One
 * UNLOGGED table (counters that may be lost in a database crash, never worth a WAL write), made by the first server,
 * and one upsert per counted request on a small pool of its own — asynchronous, so a request never waits on another.
 * Time is PostgreSQL's clock, the one all servers share. `frostwatch up` keeps the in-process store.
 */
const TABLE = 'http_rate_limits';
const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

export interface PgRateLimits {
  store: FastifyRateLimitStoreCtor;
  close(): Promise<void>;
}

export function pgRateLimits(url: string, logger: Logger): PgRateLimits {
  const pool = new pg.Pool({ connectionString: url, max: 4, application_name: 'frostwatch rate limits' });
  pool.on('error', (err) => logger.warn({ err: err.message }, 'rate limits: PostgreSQL connection lost'));
  let ready: Promise<unknown> | null = null;
  const ensureTable = (): Promise<unknown> =>
    (ready ??= pool
      .query(`CREATE UNLOGGED TABLE IF NOT EXISTS ${TABLE} (key TEXT PRIMARY KEY, count BIGINT NOT NULL, window_start BIGINT NOT NULL)`)
      .catch((err: unknown) => {
        ready = null; // try again with the next request
        throw err;
      }));
  // Windows long past are of no use to anyone: cleared now and then, a few rows at a time.
  const prune = setInterval(() => {
    void pool.query(`DELETE FROM ${TABLE} WHERE window_start < ${NOW_MS} - 3600000`).catch(() => undefined);
  }, 60_000);
  prune.unref();

  const count = async (key: string, timeWindow: number, increment: boolean): Promise<{ current: number; ttl: number }> => {
    await ensureTable();
    const sql = increment
      ? `INSERT INTO ${TABLE} AS r (key, count, window_start) VALUES ($1, 1, ${NOW_MS})
           ON CONFLICT (key) DO UPDATE SET
             count = CASE WHEN r.window_start + $2 <= ${NOW_MS} THEN 1 ELSE r.count + 1 END,
             window_start = CASE WHEN r.window_start + $2 <= ${NOW_MS} THEN ${NOW_MS} ELSE r.window_start END
         RETURNING count, window_start + $2 - ${NOW_MS} AS ttl`
      : `SELECT count, window_start + $2 - ${NOW_MS} AS ttl FROM ${TABLE} WHERE key = $1 AND window_start + $2 > ${NOW_MS}`;
    const result = await pool.query<{ count: string; ttl: string }>(sql, [key, timeWindow]);
    const row = result.rows[0];
    return row === undefined ? { current: 0, ttl: 0 } : { current: Number(row.count), ttl: Math.max(0, Number(row.ttl)) };
  };

  // A database that cannot answer must not lock everybody out, nor let a flood through unnoticed: the request passes
  // (counted as the first of its window) and the failure is logged.
  const answer = (
    key: string,
    timeWindow: number,
    increment: boolean,
    callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
  ): void => {
    count(key, timeWindow, increment).then(
      (result) => callback(null, result),
      (err: unknown) => {
        logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'rate limits: PostgreSQL did not answer; request let through',
        );
        callback(null, { current: increment ? 1 : 0, ttl: timeWindow });
      },
    );
  };

  class PgStore implements FastifyRateLimitStore {
    constructor(private readonly namespace = '') {}
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      answer(this.namespace + key, timeWindow, true, callback);
    }
    read(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      answer(this.namespace + key, timeWindow, false, callback);
    }
    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      // A limiter of its own (the failed-credentials count): its own counters, the same in every server. The
      // options carry its window and maximum (the plugin merges them in), which name it alike everywhere.
      const { timeWindow, max } = routeOptions as unknown as { timeWindow?: unknown; max?: unknown };
      return new PgStore(`${this.namespace}${String(timeWindow)}/${typeof max === 'number' ? max : 'fn'}:`);
    }
  }

  return {
    store: PgStore as unknown as FastifyRateLimitStoreCtor,
    close: async () => {
      clearInterval(prune);
      await pool.end();
    },
  };
}

import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../../../contracts/index.js';
import { MIGRATIONS, type Migration } from '../migrations.js';
import type { Db, RunResult, Statement, Transaction } from '../sql.js';
import type { BridgeAnswer, BridgeRequest, BridgeWorkerData } from './bridge-protocol.js';
import { type TranslatedSql, translateDdl, translateStatement } from './dialect.js';

/** How long one statement may take before the asking thread gives up on it; a stuck lock, not a slow query. */
const DEFAULT_TIMEOUT_MS = 30_000;
/** The advisory lock every process takes while migrating, so seven processes starting together migrate once. */
const MIGRATION_LOCK = 0x66_77_6d_67; // "fwmg"

export class PgError extends Error {
  readonly code: string | undefined;
  readonly constraint: string | undefined;
  constructor(message: string, code: string | undefined, constraint: string | undefined) {
    super(message);
    this.name = 'PgError';
    this.code = code;
    this.constraint = constraint;
  }
}

export interface PgDbOptions {
  /** Shown as application_name in pg_stat_activity. */
  applicationName?: string;
  /** Where the token key file lives (DATA_DIR); the same file on every machine of a cluster (auth/token-key.ts). */
  keyDir?: string;
  /**
   * After the session is lost: open a new one for the next statement (default), or fail every statement from then on
   * — for a cluster worker, whose partition leases were advisory locks of that session and are gone with it.
   */
  reconnect?: boolean;
  timeoutMs?: number;
}

/**
 * The registry on PostgreSQL (`DATABASE_URL`), behind the same synchronous interface as SQLite (../sql.ts). Each
 * PgDb owns one session, run by a connection thread (`bridge-worker.ts`); a statement blocks the asking thread for
 * one round trip, as better-sqlite3 blocks it for a disk read. One session per PgDb also makes session state
 * dependable: a transaction is BEGIN…COMMIT on it, and advisory locks (partition leases) live exactly as long as it.
 *
 * `session` counts the sessions opened: when it moves, the previous one was lost, and with it every advisory lock.
 */
export class PgDb implements Db {
  readonly dialect = 'postgres';
  readonly keyDir: string | null;
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #signal: Int32Array;
  readonly #timeoutMs: number;
  readonly #cache = new Map<string, TranslatedSql>();
  #idTables = new Set<string>();
  #nextId = 1;
  #depth = 0;
  #session = 0;
  #closed = false;

  constructor(connectionString: string, options: PgDbOptions = {}) {
    const shared = new SharedArrayBuffer(4);
    this.#signal = new Int32Array(shared);
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const data: BridgeWorkerData = {
      port: port2,
      connectionString,
      signal: shared,
      applicationName: options.applicationName ?? 'frostwatch',
      reconnect: options.reconnect ?? true,
    };
    this.#worker = new Worker(bridgeUrl(), { workerData: data, transferList: [port2] });
    this.#worker.unref();
    this.#port.unref();
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.keyDir = options.keyDir ?? null;
  }

  /** Sessions opened so far; a change means the previous session (its locks, its transaction) is gone. */
  get session(): number {
    return this.#session;
  }

  get inTransaction(): boolean {
    return this.#depth > 0;
  }

  /** Tables with an identity `id`, for `lastInsertRowid`; read after migrations. */
  refreshCatalog(): void {
    const rows = this.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES'`,
    );
    this.#idTables = new Set(rows.map((row) => row.table_name));
    this.#cache.clear();
  }

  /** A PostgreSQL-only statement with `$1…` placeholders. */
  query<R = Record<string, unknown>>(sql: string, params: unknown[] = []): R[] {
    return this.#call({ op: 'query', sql, params }).rows as R[];
  }

  prepare<P extends unknown[] | object = unknown[], R = unknown>(
    source: string,
  ): P extends unknown[] ? Statement<P, R> : Statement<[P], R> {
    const translated = this.#translate(source);
    const run = (args: unknown[]): { rows: Record<string, unknown>[]; rowCount: number } =>
      this.#call({ op: 'query', sql: translated.text, params: bind(translated, args, source) });
    const statement: Statement<unknown[], R> = {
      run: (...args: unknown[]): RunResult => {
        const result = run(args);
        const id = translated.insertInto !== null && result.rows[0] !== undefined ? result.rows[0].id : undefined;
        return { changes: result.rowCount, lastInsertRowid: typeof id === 'number' ? id : 0 };
      },
      get: (...args: unknown[]) => run(args).rows[0] as R | undefined,
      all: (...args: unknown[]) => run(args).rows as R[],
    };
    return statement as P extends unknown[] ? Statement<P, R> : Statement<[P], R>;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  transaction<F extends (...args: any[]) => unknown>(fn: F): Transaction<F> {
    const run = (...args: Parameters<F>): ReturnType<F> => {
      const outer = this.#depth === 0;
      const savepoint = `fw_sp_${this.#depth}`;
      this.exec(outer ? 'BEGIN' : `SAVEPOINT ${savepoint}`);
      this.#depth += 1;
      try {
        const result = fn(...args) as ReturnType<F>;
        this.#depth -= 1;
        this.exec(outer ? 'COMMIT' : `RELEASE SAVEPOINT ${savepoint}`);
        return result;
      } catch (error) {
        this.#depth -= 1;
        try {
          this.exec(outer ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${savepoint}`);
        } catch {
          // The session is gone (and with it the transaction): the first error is the one worth reporting.
        }
        throw error;
      }
    };
    return Object.assign(run, { immediate: run }) as unknown as Transaction<F>;
  }

  exec(source: string): this {
    this.#call({ op: 'exec', sql: source });
    return this;
  }

  close(): this {
    if (this.#closed) return this;
    try {
      this.#call({ op: 'close' });
    } finally {
      this.#closed = true;
      void this.#worker.terminate();
    }
    return this;
  }

  #translate(source: string): TranslatedSql {
    let translated = this.#cache.get(source);
    if (translated === undefined) {
      translated = translateStatement(source);
      if (translated.insertInto !== null && this.#idTables.has(translated.insertInto) && !/\bRETURNING\b/i.test(translated.text)) {
        translated = { ...translated, text: `${translated.text.trimEnd().replace(/;$/, '')} RETURNING id` };
      }
      this.#cache.set(source, translated);
    }
    return translated;
  }

  #call(request: Omit<BridgeRequest, 'id'> & { sql?: string; params?: unknown[] }): { rows: Record<string, unknown>[]; rowCount: number } {
    if (this.#closed) throw new Error('the PostgreSQL registry is closed');
    const id = this.#nextId++;
    const message: BridgeRequest = { ...request, id } as BridgeRequest;
    this.#port.postMessage(message);
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.#signal, 0);
      const received: { message: BridgeAnswer } | undefined = receiveMessageOnPort(this.#port);
      if (received !== undefined) {
        const answer = received.message;
        if (answer.id !== id) continue; // the late answer of a request that timed out
        const lostSession = this.#session !== 0 && answer.session !== this.#session;
        this.#session = answer.session;
        if (lostSession && this.#depth > 0)
          throw new PgError('the PostgreSQL session was lost inside a transaction', 'connection', undefined);
        if (!answer.ok) throw new PgError(answer.error.message, answer.error.code, answer.error.constraint);
        return answer;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new PgError(`PostgreSQL did not answer within ${this.#timeoutMs} ms`, 'timeout', undefined);
      Atomics.wait(this.#signal, 0, seen, remaining);
    }
  }
}

function bind(translated: TranslatedSql, args: unknown[], source: string): unknown[] {
  if (translated.names === null) return args;
  const record = args[0];
  if (args.length !== 1 || typeof record !== 'object' || record === null)
    throw new Error(`named parameters need one object: ${source.trim().slice(0, 80)}`);
  return translated.names.map((name) => {
    const value = (record as Record<string, unknown>)[name];
    if (value === undefined) throw new RangeError(`Missing named parameter "${name}"`);
    return value;
  });
}

function bridgeUrl(): URL {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith('.js')) return new URL('./bridge-worker.js', here);
  return new URL('../../../dist/server/registry/pg/bridge-worker.js', here);
}

/**
 * Open the registry on PostgreSQL and bring its schema up to date with the same numbered migrations as SQLite
 * (translated, `translateDdl`), under an advisory lock so processes starting together apply each once.
 */
export function openPostgres(
  connectionString: string,
  logger: Logger,
  migrations: readonly Migration[] = MIGRATIONS,
  clock: Clock = systemClock,
  options: PgDbOptions = {},
): PgDb {
  const db = new PgDb(connectionString, options);
  try {
    migratePostgres(db, migrations, logger, clock);
    db.refreshCatalog();
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

export function migratePostgres(db: PgDb, migrations: readonly Migration[], logger: Logger, clock: Clock = systemClock): number[] {
  const done: number[] = [];
  db.transaction(() => {
    db.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const applied = new Set(db.query<{ version: number }>('SELECT version FROM schema_migrations').map((row) => row.version));
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      db.exec(translateDdl(migration.sql) + (migration.postgres ?? ''));
      db.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        Math.round(clock.now()),
      ]);
      logger.info({ version: migration.version, name: migration.name }, 'postgres migration applied');
      done.push(migration.version);
    }
  })();
  return done;
}

/**
 * The registry's database as the stores see it: a synchronous, prepared-statement interface shaped like
 * better-sqlite3's, which SQLite (`frostwatch up`, one district) and PostgreSQL (`DATABASE_URL`, a province cluster,
 * `pg/pg-db.ts`) both implement. The stores write their SQL once, in the common subset of the two dialects
 * (docs/scale-out.md, "One SQL for two databases"); the PostgreSQL side translates placeholders.
 */

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
  /** The `id` of the row an INSERT made (0 when it made none, or the table has no `id`). */
  lastInsertRowid: number | bigint;
}

export interface Statement<P extends unknown[] = unknown[], R = unknown> {
  run(...params: P): RunResult;
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

// better-sqlite3's own shape, so its Database is a Db as it stands.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => unknown;
type Args<F extends AnyFunction> = F extends (...args: infer A) => unknown ? A : never;

/** A function run in one transaction; `immediate` takes the write lock at BEGIN (SQLite), as plain on PostgreSQL. */
export interface Transaction<F extends AnyFunction> {
  (...args: Args<F>): ReturnType<F>;
  immediate(...args: Args<F>): ReturnType<F>;
}

export interface Db {
  // better-sqlite3's own shape: a record of named parameters is bound as the one argument.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  prepare<P extends unknown[] | {} = unknown[], R = unknown>(source: string): P extends unknown[] ? Statement<P, R> : Statement<[P], R>;
  transaction<F extends AnyFunction>(fn: F): Transaction<F>;
  exec(source: string): unknown;
  close(): unknown;
}

interface CodedError {
  code?: unknown;
  constraint?: unknown;
}

/**
 * Whether `error` is a uniqueness violation, in either database: SQLite's SQLITE_CONSTRAINT_UNIQUE /
 * SQLITE_CONSTRAINT_PRIMARYKEY, PostgreSQL's 23505 (its primary keys are the constraints named `…_pkey`).
 */
export function uniqueViolation(error: unknown): 'primary_key' | 'unique' | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, constraint } = error as CodedError;
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return 'primary_key';
  if (code === 'SQLITE_CONSTRAINT_UNIQUE') return 'unique';
  if (code === '23505') return typeof constraint === 'string' && constraint.endsWith('_pkey') ? 'primary_key' : 'unique';
  return null;
}

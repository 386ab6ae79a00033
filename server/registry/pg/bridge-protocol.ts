/**
 * Messages between `PgDb` (any thread that wants the registry synchronously) and its connection thread
 * (`bridge-worker.ts`), which owns one `pg` client and answers each request in order.
 */

import type { MessagePort } from 'node:worker_threads';

export interface BridgeWorkerData {
  /** The asking side's channel: requests in, answers out. */
  port: MessagePort;
  connectionString: string;
  /** Int32 counter the connection thread bumps (and notifies) after posting each answer. */
  signal: SharedArrayBuffer;
  /** PostgreSQL's application_name, shown in pg_stat_activity (which process holds what). */
  applicationName: string;
  /** After a lost session: open a new one for the next request (true), or answer every request with the loss. */
  reconnect: boolean;
}

export type BridgeRequest =
  { id: number; op: 'query'; sql: string; params: unknown[] } | { id: number; op: 'exec'; sql: string } | { id: number; op: 'close' };

export interface BridgeError {
  message: string;
  /** SQLSTATE, e.g. 23505 for a unique violation; `connection` when the session itself was lost. */
  code: string | undefined;
  constraint: string | undefined;
  detail: string | undefined;
}

export type BridgeAnswer =
  | { id: number; ok: true; rows: Record<string, unknown>[]; rowCount: number; session: number }
  | { id: number; ok: false; error: BridgeError; session: number };

import pg from 'pg';
import type { Logger } from 'pino';
import type { Db } from './sql.js';
import { PgDb } from './pg/pg-db.js';

/**
 * What changed, told across a cluster's processes (docs/scale-out.md): a worker commits a station's state or an alert,
 * and every HTTP server's live dashboard stream (server-sent events) hears of it. PostgreSQL's NOTIFY is part of the
 * transaction that made the change, so a listener hears of it exactly when it can be read, never before, and never of
 * a change that rolled back. On SQLite (one process) there is nobody else to tell: announcing does nothing.
 */
export const CHANGES_CHANNEL = 'frostwatch_changes';
/** PostgreSQL's limit is 8,000 bytes a payload; ids are short, so a few hundred go in one. */
const MAX_PAYLOAD = 7_900;

export type Change = { kind: 'station'; id: string } | { kind: 'alert'; id: number };

/** Tell the cluster, inside the caller's transaction, that these changed. */
export function announce(db: Db, changes: readonly Change[]): void {
  if (!(db instanceof PgDb) || changes.length === 0) return;
  let payload = '';
  const send = (): void => {
    if (payload !== '') db.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, payload]);
    payload = '';
  };
  for (const change of changes) {
    const item = `${change.kind === 'station' ? 's' : 'a'}:${String(change.id)}`;
    if (payload.length + item.length + 1 > MAX_PAYLOAD) send();
    payload = payload === '' ? item : `${payload} ${item}`;
  }
  send();
}

export function parseChanges(payload: string): Change[] {
  const changes: Change[] = [];
  for (const item of payload.split(' ')) {
    const [kind, id] = [item.slice(0, 1), item.slice(2)];
    if (kind === 's' && id !== '') changes.push({ kind: 'station', id });
    else if (kind === 'a' && /^\d+$/.test(id)) changes.push({ kind: 'alert', id: Number(id) });
  }
  return changes;
}

export interface ChangeListener {
  close(): Promise<void>;
}

/**
 * LISTEN on its own connection (a LISTEN holds its session) and hand every change on. A lost connection is opened
 * again after a second; what changed meanwhile is not replayed — a browser's next event or reload shows it.
 */
export function listenForChanges(url: string, logger: Logger, onChange: (change: Change) => void): ChangeListener {
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;
  const open = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url, application_name: 'frostwatch change feed' });
    next.on('notification', (message) => {
      if (message.channel !== CHANGES_CHANNEL || message.payload === undefined) return;
      for (const change of parseChanges(message.payload)) onChange(change);
    });
    next.on('error', (err) => {
      logger.warn({ err: err.message }, 'change feed: connection lost; listening again in a second');
      void next.end().catch(() => undefined);
      if (client === next) client = null;
      schedule();
    });
    await next.connect();
    await next.query(`LISTEN ${CHANGES_CHANNEL}`);
    if (closed) {
      await next.end();
      return;
    }
    client = next;
  };
  const schedule = (): void => {
    if (closed || retry !== null) return;
    retry = setTimeout(() => {
      retry = null;
      open().catch((err: unknown) => {
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'change feed: not listening yet');
        schedule();
      });
    }, 1_000);
    retry.unref();
  };
  open().catch((err: unknown) => {
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'change feed: not listening yet');
    schedule();
  });
  return {
    close: async () => {
      closed = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => undefined);
      client = null;
    },
  };
}

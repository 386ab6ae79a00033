import { randomInt } from 'node:crypto';
import type { PgDb } from '../registry/pg/pg-db.js';

/**
 * Partition ownership in a cluster (docs/scale-out.md): partition p belongs to whichever worker holds the PostgreSQL
 * advisory lock (LEASE_CLASS, p) — on the same session its rule-engine commits go through. A worker that dies loses
 * its session, and PostgreSQL releases the lock as the connection closes; the others see the partition free at their
 * next look (every second) and one of them takes it. A worker cut off from PostgreSQL cannot commit anything either,
 * so two workers never decide for one station at the same time.
 *
 * Each worker also holds (MEMBER_CLASS, its key), so `pg_locks` alone tells how many workers are alive and who holds
 * which partition: no table to keep, nothing to expire.
 */
export const LEASE_CLASS = 0x6677_0001;
export const MEMBER_CLASS = 0x6677_0002;

export interface LeaseSurvey {
  /** Workers alive now (sessions holding a member lock). */
  members: number;
  /** Partition → the PostgreSQL backend pid holding it. */
  owners: Map<number, number>;
}

export class PartitionLeases {
  readonly partitions: number;
  /** This worker's member key (random, int4). */
  readonly memberKey: number;
  readonly #db: PgDb;
  readonly #held = new Set<number>();
  #session = -1;

  constructor(db: PgDb, partitions: number) {
    if (!Number.isInteger(partitions) || partitions < 1) throw new Error(`partitions must be a positive integer, got ${partitions}`);
    this.#db = db;
    this.partitions = partitions;
    this.memberKey = randomInt(1, 2 ** 31 - 1);
  }

  /** Join the cluster: take the member lock. */
  join(): void {
    this.#db.query('SELECT pg_advisory_lock($1::int, $2::int)', [MEMBER_CLASS, this.memberKey]);
    this.#session = this.#db.session;
  }

  /** Whether the session the locks were taken on is still the one in use (false: every lease is gone). */
  intact(): boolean {
    return this.#session === this.#db.session;
  }

  held(): ReadonlySet<number> {
    return this.#held;
  }

  owns(partition: number): boolean {
    return this.#held.has(partition);
  }

  tryAcquire(partition: number): boolean {
    const [row] = this.#db.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS ok', [LEASE_CLASS, partition]);
    if (row?.ok === true) this.#held.add(partition);
    return row?.ok === true;
  }

  release(partition: number): void {
    if (!this.#held.delete(partition)) return;
    this.#db.query('SELECT pg_advisory_unlock($1::int, $2::int)', [LEASE_CLASS, partition]);
  }

  /** Forget every lease without asking PostgreSQL (its session, and so the locks, are already gone). */
  forgetAll(): number[] {
    const lost = [...this.#held];
    this.#held.clear();
    return lost;
  }

  survey(): LeaseSurvey {
    const rows = this.#db.query<{ classid: number; objid: number; pid: number }>(
      `SELECT classid::bigint AS classid, objid::bigint AS objid, pid FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid::bigint IN ($1, $2)`,
      [LEASE_CLASS, MEMBER_CLASS],
    );
    const owners = new Map<number, number>();
    const members = new Set<number>();
    for (const row of rows) {
      if (row.classid === LEASE_CLASS) owners.set(row.objid, row.pid);
      else members.add(row.pid);
    }
    return { members: members.size, owners };
  }
}

/**
 * What to take and what to give back, given a survey: a fair share is ceil(P / members). Free partitions are taken up
 * to the share — or beyond it when nobody else would (a partition is never left unread); one partition over the share
 * is given back per round, and only while every partition has an owner, so giving back never leaves one unread.
 */
export function rebalance(
  survey: LeaseSurvey,
  held: ReadonlySet<number>,
  partitions: number,
  memberKey: number,
): { take: number[]; give: number[] } {
  const share = Math.ceil(partitions / Math.max(1, survey.members));
  const free: number[] = [];
  // Start looking at a place of our own, so workers starting together reach for different partitions first.
  for (let i = 0; i < partitions; i++) {
    const p = (memberKey + i) % partitions;
    if (!survey.owners.has(p)) free.push(p);
  }
  const room = Math.max(0, share - held.size);
  const othersHaveRoom = survey.members > 1;
  const take = othersHaveRoom ? free.slice(0, room) : free;
  const give = free.length === 0 && held.size > share ? [Math.max(...held)] : [];
  return { take, give };
}

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, systemClock } from '../../contracts/index.js';
import { type Channel, type OutboxInsert, OutboxRepository } from '../../server/notify/outbox.js';
import { type PgDb, openPostgres } from '../../server/registry/pg/pg-db.js';
import type { SenderConfig } from '../../testkit/outbox-sender.js';
import { type TestPostgres, startPostgres } from '../../testkit/postgres.js';
import { type RecordedRequest, TwilioTestServer, smsRow, voiceRow } from '../../testkit/twilio-server.js';
import { eventually } from '../helpers/mqtt.js';

/**
 * Issue 18: "Outbox dispatch uses FOR UPDATE SKIP LOCKED, so any number of senders never send a row twice". Real
 * PostgreSQL (initdb in a temp dir), the Twilio-compatible server, and senders that truly race: each a process of its
 * own (dist/testkit/outbox-sender.js) with its own PgDb session, running the real notifier.
 */

const SENDER = join(import.meta.dirname, '..', '..', 'dist', 'testkit', 'outbox-sender.js');
const silent = pino({ level: 'silent' });

interface Sender {
  name: string;
  proc: ChildProcess;
  /** pino lines it printed, parsed. */
  logs: Record<string, unknown>[];
  output(): string;
  exited: Promise<void>;
  /** Its `claimed_by`, from its start-up line. */
  identity(): string | undefined;
}

let postgres: TestPostgres;
let twilio: TwilioTestServer;
/** The test's own session: enqueues through the real repository. */
let db: PgDb;
let outbox: OutboxRepository;
/** Async reads, so that waiting never blocks the Twilio server on this thread. */
let reader: pg.Client;
const senders: Sender[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
  twilio = await TwilioTestServer.start();
  db = openPostgres(postgres.url, silent);
  outbox = new OutboxRepository(db, systemClock);
  reader = new pg.Client({ connectionString: postgres.url });
  await reader.connect();
});

afterAll(async () => {
  await Promise.all(senders.map(async (s) => stopSender(s, 'SIGKILL')));
  await reader.end();
  db.close();
  await twilio.close();
  await postgres.stop();
});

function startSender(name: string, overrides: Partial<SenderConfig> = {}): Sender {
  const config: SenderConfig = {
    databaseUrl: postgres.url,
    name,
    twilioUrl: twilio.url,
    accountSid: twilio.accountSid,
    authToken: twilio.authToken,
    from: '+15005550006',
    timeoutMs: 20_000,
    concurrency: 4,
    recoverEveryMs: 30_000,
    recoverGraceMs: 30_000,
    ...overrides,
  };
  const proc = spawn(process.execPath, [SENDER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let text = '';
  let partial = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  proc.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const sender: Sender = {
    name,
    proc,
    logs,
    output: () => text,
    exited,
    identity: () => logs.find((l) => l['msg'] === 'outbox sender session (claimed_by)')?.['sender'] as string | undefined,
  };
  senders.push(sender);
  return sender;
}

async function stopSender(sender: Sender, signal: NodeJS.Signals): Promise<void> {
  if (sender.proc.exitCode === null && sender.proc.signalCode === null) sender.proc.kill(signal);
  await sender.exited;
}

/** The sender whose status-callback URL a Twilio request names. */
function senderOf(request: Pick<RecordedRequest, 'statusCallback'>): string | undefined {
  return /^http:\/\/127\.0\.0\.1:9\/([^/]+)\//.exec(request.statusCallback ?? '')?.[1];
}

interface DbRow {
  id: number;
  phone: string;
  channel: Channel;
  body: string;
  status: string;
  attempts: number;
  provider_sid: string | null;
  claimed_by: string | null;
  unsure: number;
}

async function rowsOf(ids: readonly number[]): Promise<DbRow[]> {
  // int: pg hands BIGINT over as a string.
  const result = await reader.query<DbRow>(
    'SELECT id::int, phone, channel, body, status, attempts::int, provider_sid, claimed_by, unsure::int FROM outbox WHERE id = ANY($1) ORDER BY id',
    [ids],
  );
  return result.rows;
}

/** The outbox row a created Twilio request carried: SMS by its (unique) body, calls by their TwiML URL. */
function rowIdOf(request: RecordedRequest, byBody: Map<string, number>): number | undefined {
  if (request.kind === 'call') {
    const match = /\/api\/twilio\/voice\/(\d+)$/.exec(request.url ?? '');
    return match ? Number(match[1]) : undefined;
  }
  return request.body === undefined ? undefined : byBody.get(request.body);
}

/**
 * Every row reached Twilio exactly once, and per (phone, channel) in the order of the rows: Twilio saw each request
 * before the next row of the same queue was even claimed.
 */
function expectExactlyOnceInOrder(rows: readonly DbRow[], created: readonly RecordedRequest[]): Map<number, RecordedRequest> {
  const byBody = new Map(rows.filter((r) => r.channel === 'sms').map((r) => [r.body, r.id]));
  const ids = new Set(rows.map((r) => r.id));
  const requestOf = new Map<number, RecordedRequest>();
  const counts = new Map<number, number>();
  for (const request of created) {
    const id = rowIdOf(request, byBody);
    if (id === undefined || !ids.has(id)) continue;
    counts.set(id, (counts.get(id) ?? 0) + 1);
    requestOf.set(id, request);
  }
  const duplicates = [...counts].filter(([, n]) => n > 1);
  expect(duplicates).toEqual([]);
  expect([...counts.keys()].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
  const queues = new Map<string, number[]>();
  for (const request of created) {
    const id = rowIdOf(request, byBody);
    if (id === undefined || !ids.has(id)) continue;
    const key = `${request.to ?? ''}|${request.kind}`;
    queues.set(key, [...(queues.get(key) ?? []), id]);
  }
  for (const [key, order] of queues) expect({ key, order }).toEqual({ key, order: [...order].sort((a, b) => a - b) });
  return requestOf;
}

function phone(i: number): string {
  return `+8491${String(1_000_000 + i).slice(1)}`;
}

describe('outbox claims on PostgreSQL', () => {
  it('claim skips a head another session holds locked, and never takes the row queued behind it', () => {
    const clock: Clock = systemClock;
    const [a1, a2] = outbox.enqueue([smsRow('+84900000001', 'lock a1'), smsRow('+84900000001', 'lock a2')]);
    const [b1] = outbox.enqueue([smsRow('+84900000002', 'lock b1')]);
    const other = openPostgres(postgres.url, silent);
    try {
      const mine = new OutboxRepository(other, clock);
      let claimedWhileLocked: number | undefined;
      // This session holds a1's row lock (as another sender's claim does for the length of its statement): the other
      // session neither waits for it (SKIP LOCKED) nor takes a2 (a1 still heads that queue), but b1.
      db.transaction(() => {
        db.query('SELECT id FROM outbox WHERE id = $1 FOR UPDATE', [a1!.id]);
        claimedWhileLocked = mine.claimNext(clock.now())?.row.id;
      })();
      expect(claimedWhileLocked).toBe(b1!.id);
      const next = mine.claimNext(clock.now());
      expect(next?.row).toMatchObject({ id: a1!.id, status: 'sending', attempts: 1, claimedBy: mine.senderIdentity() });
      // a1 in sending still heads its queue: a2 waits.
      expect(mine.claimNext(clock.now())).toBeUndefined();
      mine.markSent(next!.row, 'SMlock1');
      expect(mine.claimNext(clock.now())?.row.id).toBe(a2!.id);
      // Leave nothing due for the senders below.
      for (const id of [a2!.id, b1!.id]) mine.markSent({ ...mine.get(id)! }, `SMlock${id}`);
    } finally {
      other.close();
    }
  });

  it('recovers a row only once the session that claimed it is gone, and after the grace', async () => {
    const [row] = outbox.enqueue([smsRow('+84900000003', 'recover me')]);
    const holder = openPostgres(postgres.url, silent);
    const holding = new OutboxRepository(holder, systemClock);
    const claimed = holding.claimNext(systemClock.now(), 'sms');
    expect(claimed?.row.id).toBe(row!.id);
    const attemptWall = claimed!.row.attemptedAtWall!;
    // Alive: never recovered, however old its attempt.
    expect(outbox.recoverAbandoned(attemptWall + 3_600_000, 0)).toEqual([]);
    const pid = Number(claimed!.row.claimedBy!.split(':')[0]);
    holder.close();
    await eventually(async () => {
      const listed = await reader.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
      expect(listed.rowCount).toBe(0);
    });
    // Gone, but its attempt started less than the grace ago: not yet.
    expect(outbox.recoverAbandoned(attemptWall + 999, 1_000)).toEqual([]);
    expect(outbox.recoverAbandoned(attemptWall + 1_000, 1_000)).toEqual([row!.id]);
    expect(outbox.get(row!.id)).toMatchObject({ status: 'pending', unsure: true, claimedBy: claimed!.row.claimedBy, attempts: 1 });
    // Once is enough: a second recovery finds nothing.
    expect(outbox.recoverAbandoned(attemptWall + 1_000, 1_000)).toEqual([]);
    outbox.markFinal(outbox.get(row!.id)!, 'dry_run', null);
  });

  it('claims under the new session when the connection was replaced, and a late answer of the old claim is refused', async () => {
    const [first, second] = outbox.enqueue([smsRow('+84900000004', 'session one'), smsRow('+84900000005', 'session two')]);
    const session = openPostgres(postgres.url, silent);
    try {
      const repo = new OutboxRepository(session, systemClock);
      const before = repo.senderIdentity()!;
      const one = repo.claimNext(systemClock.now());
      expect(one?.row).toMatchObject({ id: first!.id, claimedBy: before });
      await reader.query('SELECT pg_terminate_backend($1)', [Number(before.split(':')[0])]);
      // The next statement finds the connection gone (an error, as a lost session is), then a new session claims.
      let two: ReturnType<typeof repo.claimNext>;
      await eventually(() => {
        two = repo.claimNext(systemClock.now());
        expect(two?.row.id).toBe(second!.id);
      });
      const after = repo.senderIdentity()!;
      expect(after).not.toBe(before);
      expect(two!.row.claimedBy).toBe(after);
      // Recovery takes back the dead session's row (no grace here) but not the live one's.
      expect(outbox.recoverAbandoned(Date.now(), 0)).toEqual([first!.id]);
      // Another sender claims it again; the first attempt's late answer no longer applies.
      const again = outbox.claimNext(systemClock.now());
      expect(again?.row).toMatchObject({ id: first!.id, unsure: true, attempts: 2, claimedBy: outbox.senderIdentity() });
      expect(() => repo.markSent(one!.row, 'SMlate')).toThrow(/claimed by another sender/);
      outbox.markSent(again!.row, 'SMagain');
      repo.markSent(two!.row, 'SMtwo');
      expect(outbox.get(first!.id)).toMatchObject({ status: 'sent', providerSid: 'SMagain' });
    } finally {
      session.close();
    }
  });
});

describe('four senders racing over one PostgreSQL outbox', () => {
  it('400 rows for 100 phones: every row reaches Twilio exactly once, in order per phone and channel', { timeout: 120_000 }, async () => {
    const inserts: OutboxInsert[] = [];
    for (let round = 0; round < 4; round++) {
      for (let p = 0; p < 100; p++) {
        const body = `race r${round} p${p}`;
        inserts.push(round === 1 && p % 4 === 0 ? voiceRow(phone(p), body) : smsRow(phone(p), body));
      }
    }
    // Four enqueues, as four decisions of the rule engine would: ids interleave the phones.
    const enqueued = [0, 1, 2, 3].flatMap((round) => outbox.enqueue(inserts.slice(round * 100, round * 100 + 100)));
    expect(enqueued).toHaveLength(400);
    const ids = enqueued.map((r) => r.id);
    // A few milliseconds at Twilio per request, so claims overlap and rows stay in `sending` a while.
    twilio.onAccept = () => new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 4));
    const started = Date.now();
    const racing = ['s1', 's2', 's3', 's4'].map((name) => startSender(name));
    await eventually(async () => {
      const rows = await rowsOf(ids);
      expect(rows.filter((r) => r.status !== 'sent')).toEqual([]);
    }, 90_000);
    const elapsedMs = Date.now() - started;
    twilio.onAccept = null;
    await Promise.all(racing.map((s) => stopSender(s, 'SIGTERM')));

    const rows = await rowsOf(ids);
    const requestOf = expectExactlyOnceInOrder(rows, twilio.created());
    const identities = new Map(racing.map((s) => [s.identity(), s.name]));
    expect(identities.size).toBe(4);
    for (const row of rows) {
      // Sent once, recorded with the sid Twilio gave that one request, by the sender that made it.
      const request = requestOf.get(row.id)!;
      expect({ id: row.id, attempts: row.attempts, sid: row.provider_sid, by: identities.get(row.claimed_by ?? '') }).toEqual({
        id: row.id,
        attempts: 1,
        sid: request.sid,
        by: senderOf(request),
      });
    }
    // They truly raced: every sender sent a share.
    const shares = racing.map((s) => twilio.created().filter((r) => senderOf(r) === s.name).length);
    expect(shares.every((n) => n > 0)).toBe(true);
    // Nothing was ever recovered (every sender alive), and nobody saw a row taken from under it.
    for (const s of racing) expect(s.logs.filter((l) => (l['level'] as number) >= 40)).toEqual([]);
    console.log(`4 senders, 400 rows: ${elapsedMs} ms; shares ${shares.join('/')}`);
  });

  it(
    'a sender SIGKILLed with rows in sending: the others recover exactly those rows, look them up, send none twice',
    {
      timeout: 120_000,
    },
    async () => {
      const inserts: OutboxInsert[] = [];
      for (let round = 0; round < 4; round++) for (let p = 200; p < 240; p++) inserts.push(smsRow(phone(p), `crash r${round} p${p}`));
      const ids = outbox.enqueue(inserts).map((r) => r.id);
      expect(ids).toHaveLength(160);

      // The victim's first three requests are created at Twilio and their answers held until it is dead; its fourth
      // never reaches Twilio (hangs). The survivors' requests take 100–200 ms, so they always have rows in flight while
      // their recovery runs every 300 ms.
      let victimRequests = 0;
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      twilio.faultFor = (request) => {
        if (senderOf(request) !== 'victim') return undefined;
        victimRequests += 1;
        return victimRequests === 4 ? 'hang' : undefined;
      };
      twilio.onAccept = (request) =>
        senderOf(request) === 'victim' ? held : new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 100));
      const fast = { recoverEveryMs: 300, recoverGraceMs: 500 };
      const victim = startSender('victim', fast);
      await eventually(() => expect(victim.identity()).toBeDefined(), 20_000);
      const survivors = ['k1', 'k2', 'k3'].map((name) => startSender(name, fast));
      await eventually(() => expect(victimRequests).toBe(4), 20_000);
      await eventually(() => expect(survivors.every((s) => s.identity() !== undefined)).toBe(true), 20_000);

      const inSending = await reader.query<{ id: string }>(
        "SELECT id FROM outbox WHERE status = 'sending' AND claimed_by = $1 ORDER BY id",
        [victim.identity()],
      );
      const victimRows = inSending.rows.map((r) => Number(r.id));
      expect(victimRows).toHaveLength(4);
      const createdByVictim = twilio.created().filter((r) => senderOf(r) === 'victim');
      expect(createdByVictim).toHaveLength(3);
      await stopSender(victim, 'SIGKILL');
      release(); // its answers go to a process that is gone
      const killedAt = Date.now();

      await eventually(async () => {
        const rows = await rowsOf(ids);
        expect(rows.filter((r) => r.status !== 'sent')).toEqual([]);
      }, 60_000);
      const recoveredInMs = Date.now() - killedAt;
      twilio.onAccept = null;
      twilio.faultFor = null;
      await Promise.all(survivors.map((s) => stopSender(s, 'SIGTERM')));

      const rows = await rowsOf(ids);
      const requestOf = expectExactlyOnceInOrder(rows, twilio.created());
      // Recovered: exactly the victim's four rows, each once, by one survivor or another; no live sender's row ever.
      const recoveries = survivors.flatMap((s) =>
        s.logs
          .filter((l) => l['msg'] === 'rows left in sending by a sender that is gone: retrying them')
          .flatMap((l) => l['outboxIds'] as number[]),
      );
      expect(recoveries.sort((a, b) => a - b)).toEqual(victimRows);
      // The three Twilio had created were found in its list and recorded with the victim's sid, not sent again.
      const lookedUp = new Set(twilio.lists.map((l) => l.query['To']));
      for (const id of victimRows) expect(lookedUp.has(rows.find((r) => r.id === id)!.phone)).toBe(true);
      const victimSids = new Set(createdByVictim.map((r) => r.sid));
      const foundInList = rows.filter((r) => victimSids.has(r.provider_sid ?? ''));
      expect(foundInList.map((r) => r.id).sort((a, b) => a - b)).toEqual(
        victimRows.filter((id) => senderOf(requestOf.get(id)!) === 'victim'),
      );
      expect(foundInList).toHaveLength(3);
      for (const row of foundInList) expect(row.attempts).toBe(2);
      // The one that never reached Twilio was sent once, by a survivor.
      const hung = victimRows.filter((id) => senderOf(requestOf.get(id)!) !== 'victim');
      expect(hung).toHaveLength(1);
      expect(['k1', 'k2', 'k3']).toContain(senderOf(requestOf.get(hung[0]!)!));
      for (const s of survivors) {
        expect(s.logs.filter((l) => String(l['msg']).includes('another sender has taken over'))).toEqual([]);
      }
      expect(
        survivors
          .flatMap((s) => s.logs)
          .filter((l) => l['msg'] === 'Twilio already had this message from an attempt whose answer was lost: not sent again'),
      ).toHaveLength(3);
      console.log(`crash: all 160 rows sent ${recoveredInMs} ms after the kill; recovered ${victimRows.join(', ')}`);
    },
  );
});

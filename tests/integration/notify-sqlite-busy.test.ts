import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/mqtt.js';
import { type HeldLock, holdWriteLock } from '../helpers/sqlite-lock.js';
import { smsRow, startNotifyStack, type NotifyStack } from '../../testkit/twilio-server.js';

const A = '+84912345678';
const WATCH = 'Chú ý sương muối đêm nay. Chuẩn bị sẵn vật che phủ.';
const WARNING = 'CẢNH BÁO sương muối đêm nay. Che phủ cây non, tưới nước.';
/** Longer than server/registry/db.ts's busy_timeout (5 s): the notifier's writes fail, not only wait. */
const LOCK_MS = 6_500;

let stack: NotifyStack | undefined;
let lock: HeldLock | undefined;
afterEach(async () => {
  await lock?.released;
  await stack?.close();
  stack = lock = undefined;
});

/**
 * Another process (a backup, an admin's sqlite3 shell) holds the registry's write lock past busy_timeout while the
 * notifier works: the write it needed fails. Nothing may be lost, sent twice, reordered, or crash the process.
 */
describe('notifier: another process holds the SQLite write lock', () => {
  it('keeps the answer of a message Twilio accepted just as the lock was taken, records it afterwards, and never sends it again', async () => {
    stack = await startNotifyStack();
    const s = stack;
    s.twilio.onAccept = async () => {
      s.twilio.onAccept = null;
      // Taken before Twilio's answer leaves: the notifier cannot record "sent" until the lock is gone.
      lock = await holdWriteLock(s.dbFile, LOCK_MS);
    };
    const [watch, warning] = s.notifier.enqueue([smsRow(A, WATCH), smsRow(A, WARNING)]);
    if (watch === undefined || warning === undefined) throw new Error('not enqueued');
    await eventually(() => expect(lock).toBeDefined());
    const releasedAt = await lock!.released;
    await eventually(() => expect(s.notifier.outbox.get(warning.id)?.status).toBe('sent'), 15_000);

    const requests = s.twilio.created('message');
    expect(requests.map((r) => r.body)).toEqual([WATCH, WARNING]);
    expect(s.notifier.outbox.get(watch.id)).toMatchObject({ status: 'sent', attempts: 1, providerSid: requests[0]?.sid });
    // The Warning waited behind the Watch whose answer was not yet written.
    expect(requests[1]!.atMs).toBeGreaterThan(releasedAt);

    // A restart finds nothing in flight and sends nothing again.
    await s.replaceNotifier({}, true);
    await new Promise((r) => setTimeout(r, 500));
    expect(s.twilio.created('message')).toHaveLength(2);
  }, 40_000);

  it('keeps working when a row falls due while the lock is held, and sends it once the lock is gone', async () => {
    // The row falls due when the test says, once the lock is held: a row due in N ms raced the lock holder's start
    // under load. The notifier's clock runs with the wall clock, plus a step the test takes.
    let stepMs = 0;
    stack = await startNotifyStack({ clock: { now: () => Date.now() + stepMs, speed: 1 } });
    const s = stack;
    const [row] = s.notifier.enqueue([smsRow(A, WATCH, { notBeforeMs: Date.now() + 60_000 })]);
    if (row === undefined) throw new Error('not enqueued');
    lock = await holdWriteLock(s.dbFile, LOCK_MS);
    expect(s.notifier.outbox.get(row.id)?.status).toBe('pending');
    stepMs = 60_000;
    s.notifier.kick();
    const releasedAt = await lock.released;
    await eventually(() => expect(s.notifier.outbox.get(row.id)?.status).toBe('sent'), 15_000);
    const requests = s.twilio.created('message');
    expect(requests.map((r) => r.body)).toEqual([WATCH]);
    expect(requests[0]!.atMs).toBeGreaterThan(releasedAt);
    expect(s.notifier.outbox.get(row.id)).toMatchObject({ attempts: 1 });
  }, 40_000);
});

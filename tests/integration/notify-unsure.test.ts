import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../contracts/index.js';
import { createNotifier } from '../../server/notify/sender.js';
import { createTwilioSender } from '../../server/notify/twilio-client.js';
import { openDatabase } from '../../server/registry/db.js';
import { eventually } from '../helpers/mqtt.js';
import { smsRow, startNotifyStack, voiceRow, type NotifyStack } from '../../testkit/twilio-server.js';

const WATCH = 'Chú ý sương muối: đêm nay có thể xuống 3 °C. Chuẩn bị che phủ cây non.';
const SEVERE = 'KHẨN CẤP: sương muối nguy hiểm đêm nay. Bấm 1 nếu đã nghe.';
const A = '+84912345678';

let stack: NotifyStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/**
 * Issue 17: Twilio has no idempotency key, so an attempt whose answer was lost — a timeout after Twilio took the
 * request, or a crash inside it — leaves the row unsure, and before it is sent again Twilio's own list is asked
 * (the real `twilio` package's `messages.list` / `calls.list` against the Twilio-compatible server).
 */
describe('notifier: an attempt whose answer was lost is looked up before it is sent again', () => {
  it('a timeout after Twilio created the message: found in its Messages list (To, DateSent, body), marked sent, not sent twice', async () => {
    stack = await startNotifyStack({ timeoutMs: 300 });
    stack.twilio.failNext(1, 'accept-late'); // created at once, answered after 10 s: the client gives up at 300 ms
    const [row] = stack.notifier.enqueue([smsRow(A, WATCH)]);
    await eventually(() => expect(stack!.notifier.outbox.get(row!.id)?.status).toBe('sent'));
    const created = stack.twilio.created('message');
    expect(created).toHaveLength(1);
    expect(stack.notifier.outbox.get(row!.id)).toMatchObject({ providerSid: created[0]!.sid, unsure: false, attempts: 2 });
    // One list request, filtered the way the issue names: by the phone and from (a little before) the attempt.
    expect(stack.twilio.lists).toHaveLength(1);
    expect(stack.twilio.lists[0]).toMatchObject({ kind: 'message', returned: 1, query: { To: A } });
    expect(Date.parse(stack.twilio.lists[0]!.query['DateSent>']!)).toBeLessThanOrEqual(created[0]!.createdAtWall!);
  });

  it('a timeout where nothing reached Twilio: the list is empty, the message is sent once', async () => {
    stack = await startNotifyStack({ timeoutMs: 300 });
    stack.twilio.failNext(1, 'hang'); // never answered, nothing created
    const [row] = stack.notifier.enqueue([smsRow(A, WATCH)]);
    await eventually(() => expect(stack!.notifier.outbox.get(row!.id)?.status).toBe('sent'));
    expect(stack.twilio.created('message')).toHaveLength(1);
    expect(stack.twilio.lists.map((l) => l.returned)).toEqual([0]);
  });

  it('a 500 is an answer: no lookup, just the retry', async () => {
    stack = await startNotifyStack();
    stack.twilio.failNext(1, 500);
    const [row] = stack.notifier.enqueue([smsRow(A, WATCH)]);
    await eventually(() => expect(stack!.notifier.outbox.get(row!.id)?.status).toBe('sent'));
    expect(stack.twilio.lists).toHaveLength(0);
    expect(stack.twilio.created('message')).toHaveLength(1);
  });

  it('Twilio cannot be asked: the message is sent again (a second SMS rather than a missed warning)', async () => {
    stack = await startNotifyStack({ timeoutMs: 300 });
    stack.twilio.failNext(1, 'accept-late');
    stack.twilio.failNextLists(1);
    const [row] = stack.notifier.enqueue([smsRow(A, WATCH)]);
    await eventually(() => expect(stack!.notifier.outbox.get(row!.id)?.status).toBe('sent'));
    expect(stack.twilio.created('message')).toHaveLength(2);
  });

  it('the same text already sent to the phone by another row is not taken for this one', async () => {
    stack = await startNotifyStack({ timeoutMs: 300 });
    const [first] = stack.notifier.enqueue([smsRow(A, WATCH)]);
    await eventually(() => expect(stack!.notifier.outbox.get(first!.id)?.status).toBe('sent'));
    stack.twilio.failNext(1, 'hang');
    const [second] = stack.notifier.enqueue([smsRow(A, WATCH)]); // another dedupe key, the same words
    await eventually(() => expect(stack!.notifier.outbox.get(second!.id)?.status).toBe('sent'));
    expect(stack.twilio.created('message')).toHaveLength(2);
    expect(stack.notifier.outbox.get(second!.id)?.providerSid).not.toBe(stack.notifier.outbox.get(first!.id)?.providerSid);
  });

  it('a call whose answer was lost: found in the Calls list, the phone does not ring twice', async () => {
    stack = await startNotifyStack({ timeoutMs: 300 });
    stack.twilio.failNext(1, 'accept-late');
    const [row] = stack.notifier.enqueue([voiceRow(A, SEVERE)]);
    await eventually(() => expect(stack!.notifier.outbox.get(row!.id)?.status).toBe('sent'));
    expect(stack.twilio.created('call')).toHaveLength(1);
    expect(stack.twilio.lists).toMatchObject([{ kind: 'call', returned: 1 }]);
  });

  it('a process that died inside the request: the next start finds Twilio’s copy and sends nothing', async () => {
    stack = await startNotifyStack();
    // Twilio takes the message and the answer never leaves: the first process is, for the database, dead in the request.
    let release: () => void = () => undefined;
    stack.twilio.onAccept = () => new Promise<void>((resolve) => (release = resolve));
    const [row] = stack.notifier.enqueue([smsRow(A, WATCH)]);
    await eventually(() => expect(stack!.twilio.created('message')).toHaveLength(1));
    expect(stack.notifier.outbox.get(row!.id)?.status).toBe('sending');
    stack.twilio.onAccept = null;

    // The next process: the same database file, a notifier of its own, started as `frostwatch up` starts it.
    const logger = pino({ level: 'silent' });
    const db = openDatabase(stack.dbFile, logger);
    const next = createNotifier({
      db,
      twilio: createTwilioSender({
        accountSid: stack.twilio.accountSid,
        authToken: stack.twilio.authToken,
        from: '+15005550006',
        apiUrl: stack.twilio.url,
        publicUrl: stack.publicUrl,
      }),
      clock: systemClock,
      logger,
      metrics: new Registry(),
      idlePollMs: 50,
    });
    try {
      next.start();
      await eventually(() => expect(next.outbox.get(row!.id)?.status).toBe('sent'));
      expect(next.outbox.get(row!.id)).toMatchObject({ providerSid: stack.twilio.created('message')[0]!.sid, attempts: 2 });
      expect(stack.twilio.created('message')).toHaveLength(1);
    } finally {
      release();
      await next.close();
      db.close();
    }
  });
});

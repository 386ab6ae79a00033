import { afterEach, describe, expect, it } from 'vitest';
import type { OutboxRow } from '../../server/notify/outbox.js';
import { eventually, metricValue } from '../helpers/mqtt.js';
import { smsRow, startNotifyStack, voiceRow, type NotifyStack } from '../../testkit/twilio-server.js';

const WATCH = 'Cảnh báo sương muối (theo dõi): đêm nay có thể xuống 3 °C. Chuẩn bị che phủ cây non.';
const WARNING = 'CẢNH BÁO sương muối: khoảng 4:30 sáng mai có thể xuống 1 °C. Che phủ, tưới nước trước 2:00.';
const A = '+84912345678';
const B = '+84987654321';

let stack: NotifyStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function statusOf(s: NotifyStack, row: OutboxRow): string | undefined {
  return s.notifier.outbox.get(row.id)?.status;
}

describe('notifier: SMS through the real twilio package', () => {
  it('sends to/from/body and a signed delivery callback marks the row delivered', async () => {
    stack = await startNotifyStack();
    const [row] = stack.notifier.enqueue([smsRow(A, WATCH)]);
    if (row === undefined) throw new Error('not enqueued');
    await eventually(() => expect(statusOf(stack!, row)).toBe('sent'));

    const [request] = stack.twilio.created('message');
    expect(request).toMatchObject({ to: A, from: '+15005550006', body: WATCH, statusCallback: `${stack.publicUrl}/api/twilio/status` });
    const sent = stack.notifier.outbox.get(row.id);
    expect(sent).toMatchObject({ attempts: 1, providerSid: request?.sid, lastError: null });

    const results = await stack.twilio.messageStatus(request?.sid ?? '', ['queued', 'sent', 'delivered']);
    expect(results.map((r) => r.status)).toEqual([204, 204, 204]);
    expect(statusOf(stack, row)).toBe('delivered');
    // A late "sent" (callbacks are not ordered) must not undo "delivered".
    await stack.twilio.messageStatus(request?.sid ?? '', ['sent']);
    expect(statusOf(stack, row)).toBe('delivered');
    expect(await metricValue(stack.metrics, 'frostwatch_notify_sent_total', { channel: 'sms' })).toBe(1);
  });

  it('enqueueing the same dedupe key twice keeps one row and sends one SMS', async () => {
    stack = await startNotifyStack();
    const first = stack.notifier.enqueue([smsRow(A, WATCH, { dedupeKey: 'event:7:farmer:1:sms' })]);
    const second = stack.notifier.enqueue([smsRow(A, WATCH, { dedupeKey: 'event:7:farmer:1:sms' })]);
    expect(first).toHaveLength(1);
    expect(second).toEqual([]);
    await eventually(() => expect(statusOf(stack!, first[0]!)).toBe('sent'));
    stack.notifier.enqueue([smsRow(A, WATCH, { dedupeKey: 'event:7:farmer:1:sms' })]);
    await stack.replaceNotifier();
    await stack.notifier.close();
    expect(stack.twilio.requests).toHaveLength(1);
    expect(stack.notifier.outbox.recent(10)).toHaveLength(1);
  });

  it('retries 429, 500 and a timeout with backoff, keeps each phone in order, sends each once', async () => {
    stack = await startNotifyStack({ timeoutMs: 300 });
    stack.twilio.failNext(1, 429);
    stack.twilio.failNext(1, 500);
    stack.twilio.failNext(1, 'hang');
    const rows = stack.notifier.enqueue([smsRow(A, WATCH), smsRow(B, WATCH), smsRow(A, WARNING)]);
    await eventually(() => expect(rows.map((r) => statusOf(stack!, r))).toEqual(['sent', 'sent', 'sent']));
    await stack.twilio.deliverAll();
    expect(rows.map((r) => statusOf(stack!, r))).toEqual(['delivered', 'delivered', 'delivered']);

    const toA = stack.twilio.requests.filter((r) => r.to === A);
    // Warning is asked for only after Watch was accepted, however many tries Watch took.
    expect(toA.at(-1)).toMatchObject({ body: WARNING, answer: 201 });
    expect(toA.slice(0, -1).every((r) => r.body === WATCH)).toBe(true);
    expect(
      stack.twilio
        .created()
        .map((r) => `${r.to} ${r.body?.slice(0, 12)}`)
        .sort(),
    ).toEqual([`${A} ${WATCH.slice(0, 12)}`, `${A} ${WARNING.slice(0, 12)}`, `${B} ${WATCH.slice(0, 12)}`].sort());
    const answers = stack.twilio.requests.map((r) => r.answer);
    expect(answers.filter((a) => a !== 201)).toEqual([429, 500, 'hang']);
    const attempts = rows.reduce((sum, r) => sum + (stack!.notifier.outbox.get(r.id)?.attempts ?? 0), 0);
    expect(attempts).toBe(6);
    expect(await metricValue(stack.metrics, 'frostwatch_notify_retries_total', { channel: 'sms' })).toBe(3);
  });

  it('gives up after maxAttempts and calls onGaveUp; a permanent 4xx fails at once', async () => {
    const gaveUp: OutboxRow[] = [];
    stack = await startNotifyStack({ maxAttempts: 3, onGaveUp: (row) => gaveUp.push(row) });
    stack.twilio.failFor(60_000, 503);
    const [row] = stack.notifier.enqueue([smsRow(A, WATCH)]);
    await eventually(() => expect(gaveUp).toHaveLength(1));
    expect(gaveUp[0]).toMatchObject({ id: row?.id, status: 'gave_up', attempts: 3 });
    expect(stack.notifier.outbox.get(row?.id ?? 0)?.lastError).toContain('HTTP 503');
    expect(stack.twilio.requests).toHaveLength(3);
    expect(await metricValue(stack.metrics, 'frostwatch_notify_gave_up_total', { channel: 'sms' })).toBe(1);

    stack.twilio.failFor(0, 503);
    stack.twilio.failNext(1, 400);
    const [bad] = stack.notifier.enqueue([smsRow(B, WATCH)]);
    await eventually(() => expect(statusOf(stack!, bad!)).toBe('failed'));
    expect(stack.twilio.requests).toHaveLength(4);
    expect(stack.notifier.outbox.get(bad?.id ?? 0)).toMatchObject({
      attempts: 1,
      lastError: expect.stringContaining('Twilio 21211') as unknown,
    });
  });

  it('paces requests by segments: N single segments span at least N−1 intervals, a 3-segment SMS holds 3', async () => {
    const perSec = 10; // 100 ms a segment
    stack = await startNotifyStack({ rateLimitPerSec: perSec });
    const phones = ['+84900000001', '+84900000002', '+84900000003', '+84900000004', '+84900000005'];
    const rows = stack.notifier.enqueue([smsRow(phones[0]!, WATCH, { segments: 3 }), ...phones.slice(1).map((p) => smsRow(p, WATCH))]);
    await eventually(() => expect(rows.every((r) => statusOf(stack!, r) === 'sent')).toBe(true));
    const at = stack.twilio.requests.map((r) => r.atMs);
    expect(stack.twilio.requests.map((r) => r.to)).toEqual(phones);
    // 3 + 1 + 1 + 1 segments before the last one leaves: ≥ 6 intervals. 20% slack for delivery jitter
    // between client and server; being slow only widens the gaps.
    const intervalMs = 1_000 / perSec;
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(3 * intervalMs * 0.8);
    expect(at[4]! - at[0]!).toBeGreaterThanOrEqual(6 * intervalMs * 0.8);
  });

  it('dry run: no credentials → rows kept as dry_run with their text, nothing reaches the server', async () => {
    stack = await startNotifyStack({ dryRun: true });
    const rows = stack.notifier.enqueue([smsRow(A, WATCH), smsRow(A, WARNING)]);
    await eventually(() => expect(rows.map((r) => statusOf(stack!, r))).toEqual(['dry_run', 'dry_run']));
    expect(rows.map((r) => stack!.notifier.outbox.get(r.id)?.body)).toEqual([WATCH, WARNING]);
    expect(stack.twilio.requests).toEqual([]);
    // Nothing could have signed a callback: refused.
    const forged = await stack.twilio.signedPost(`${stack.publicUrl}/api/twilio/status`, { MessageSid: 'SMx', MessageStatus: 'delivered' });
    expect(forged.status).toBe(403);
  });
});

describe('notifier: restarts', () => {
  it('a restart sends what was pending or interrupted once and never resends what was sent', async () => {
    stack = await startNotifyStack();
    const [done] = stack.notifier.enqueue([smsRow(A, WATCH)]);
    await eventually(() => expect(statusOf(stack!, done!)).toBe('sent'));
    await stack.notifier.close();

    // What a process killed mid-flight leaves behind: one row marked sending (attempt counted, no
    // answer recorded) and one still pending. Written straight to the file, then the DB is reopened.
    const [interrupted, waiting] = stack.notifier.outbox.enqueue([smsRow(B, WATCH), smsRow(B, WARNING)]);
    stack.notifier.outbox.markSending(interrupted!);
    expect(stack.twilio.requests).toHaveLength(1);

    const restarted = await stack.replaceNotifier({}, true);
    await eventually(() => expect([interrupted, waiting].map((r) => restarted.outbox.get(r!.id)?.status)).toEqual(['sent', 'sent']));
    await restarted.close();
    expect(stack.twilio.requests.map((r) => `${r.to}|${r.body}`)).toEqual([`${A}|${WATCH}`, `${B}|${WATCH}`, `${B}|${WARNING}`]);
    expect(restarted.outbox.get(interrupted!.id)?.attempts).toBe(2);
    expect(restarted.outbox.get(done!.id)?.attempts).toBe(1);
  });

  it('close() waits for the request in flight and records its answer', async () => {
    stack = await startNotifyStack({ timeoutMs: 400 });
    stack.twilio.failNext(1, 'hang');
    const [row] = stack.notifier.enqueue([smsRow(A, WATCH)]);
    await eventually(() => expect(stack!.twilio.requests).toHaveLength(1));
    expect(statusOf(stack, row!)).toBe('sending');
    await stack.notifier.close();
    // The timed-out attempt is recorded as a failure to retry, not left "sending".
    expect(stack.notifier.outbox.get(row!.id)).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: expect.stringContaining('timeout') as unknown,
    });
    const restarted = await stack.replaceNotifier();
    await eventually(() => expect(restarted.outbox.get(row!.id)?.status).toBe('sent'));
    expect(stack.twilio.created()).toHaveLength(1);
  });

  it('never holds an SMS behind a call waiting for the call rate', async () => {
    // A Severe night: every farmer gets a call and an SMS; calls go out one every two seconds here.
    stack = await startNotifyStack({ callsPerSec: 0.5, rateLimitPerSec: 100 });
    const phones = ['+84912000001', '+84912000002', '+84912000003'];
    stack.notifier.enqueue(phones.map((phone) => voiceRow(phone, 'KHẨN CẤP: sương muối nguy hiểm.')));
    stack.notifier.enqueue(phones.map((phone) => smsRow(phone, WARNING)));
    await eventually(() => expect(stack!.twilio.created('message')).toHaveLength(3), 10_000);
    // All three SMS went out while the calls were still being paced: at most the first two calls were placed.
    expect(stack.twilio.created('call').length).toBeLessThanOrEqual(2);
    const lastSms = Math.max(...stack.twilio.created('message').map((r) => r.atMs));
    const calls = stack.twilio.created('call').map((r) => r.atMs);
    expect(calls.filter((at) => at > lastSms).length + (3 - calls.length)).toBeGreaterThanOrEqual(1);
  });
});

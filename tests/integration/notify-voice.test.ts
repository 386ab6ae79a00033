import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../contracts/index.js';
import type { ChainStep } from '../../server/notify/escalation.js';
import type { OutboxRow } from '../../server/notify/outbox.js';
import { eventually } from '../helpers/mqtt.js';
import { smsRow, startNotifyStack, voiceRow, type NotifyStack } from '../../testkit/twilio-server.js';

const FARMER = '+84912345678';
const SECOND = '+84912000002';
const HEAD = '+84912000003';
const SCRIPT = 'Cảnh báo sương muối nghiêm trọng tại Đạ Sar: nhiệt độ có thể xuống âm 1 độ lúc 5 giờ sáng.';
const ACK_TIMEOUT_MS = 10 * 60_000;

let stack: NotifyStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Wall time plus an offset the test moves forward: rows still come due, and the ack timeout can pass. */
function shiftableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => Date.now() + offset, speed: 1, advance: (ms) => (offset += ms) };
}

async function placedCall(s: NotifyStack, row: OutboxRow): Promise<string> {
  await eventually(() => expect(s.notifier.outbox.get(row.id)?.status).toBe('sent'));
  const sid = s.notifier.outbox.get(row.id)?.providerSid;
  if (sid == null) throw new Error('no call sid');
  return sid;
}

describe('twilio callbacks: signatures', () => {
  it('refuses forged, unsigned, other-URL and other-token callbacks with 403 and changes nothing', async () => {
    stack = await startNotifyStack();
    const [sms] = stack.notifier.enqueue([smsRow(FARMER, 'Sương muối đêm nay.')]);
    await eventually(() => expect(stack!.notifier.outbox.get(sms!.id)?.status).toBe('sent'));
    const sid = stack.notifier.outbox.get(sms!.id)?.providerSid ?? '';
    const [call] = stack.notifier.enqueue([voiceRow(FARMER, SCRIPT)]);
    const callSid = await placedCall(stack, call!);

    const statusUrl = `${stack.publicUrl}/api/twilio/status`;
    const attempts = [
      await stack.twilio.messageStatus(sid, ['delivered'], { signature: 'bm90IGEgc2lnbmF0dXJl' }),
      await stack.twilio.messageStatus(sid, ['delivered'], { signature: 'none' }),
      await stack.twilio.messageStatus(sid, ['delivered'], { signedUrl: `${stack.publicUrl}/api/twilio/voice/${call!.id}` }),
      await stack.twilio.messageStatus(sid, ['delivered'], { authToken: 'another-accounts-token-000000000' }),
    ].flat();
    // Signed correctly, but the body was altered on the way.
    const { getExpectedTwilioSignature } = (await import('twilio')).default;
    const signature = getExpectedTwilioSignature(stack.twilio.authToken, statusUrl, { MessageSid: sid, MessageStatus: 'sent' });
    const tampered = await fetch(statusUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: new URLSearchParams({ MessageSid: sid, MessageStatus: 'delivered' }).toString(),
    });
    expect([...attempts.map((a) => a.status), tampered.status]).toEqual([403, 403, 403, 403, 403]);
    expect(stack.notifier.outbox.get(sms!.id)?.status).toBe('sent');

    const keypressUrl = `${stack.publicUrl}/api/twilio/voice/${call!.id}/keypress`;
    const unsignedKeypress = await stack.twilio.signedPost(keypressUrl, { CallSid: callSid, Digits: '1' }, { signature: 'none' });
    const unsignedTwiml = await stack.twilio.signedPost(
      `${stack.publicUrl}/api/twilio/voice/${call!.id}`,
      { CallSid: callSid },
      { signature: 'none' },
    );
    expect([unsignedKeypress.status, unsignedTwiml.status]).toEqual([403, 403]);
    expect(unsignedTwiml.text).not.toContain('Say');
    expect(stack.notifier.outbox.get(call!.id)?.ackedAt).toBeNull();
    expect(unsignedKeypress.text).not.toMatch(/at .*\.ts:\d+/); // no stack trace

    const signed = await stack.twilio.messageStatus(sid, ['delivered']);
    expect(signed.map((r) => r.status)).toEqual([204]);
    expect(stack.notifier.outbox.get(sms!.id)?.status).toBe('delivered');
  });
});

describe('voice: call, keypress, escalation', () => {
  it('places the call, serves Vietnamese TwiML with Gather, and keypress 1 acknowledges once', async () => {
    const acked: OutboxRow[] = [];
    const clock = shiftableClock();
    stack = await startNotifyStack({
      clock,
      onAcknowledged: (row) => acked.push(row),
      escalation: {
        chain: () => ({ recipientKind: 'contact', recipientId: 2, phone: SECOND, language: 'vi' }),
        ackTimeoutMs: ACK_TIMEOUT_MS,
        scanEveryMs: 60_000,
      },
    });
    const [call] = stack.notifier.enqueue([voiceRow(FARMER, SCRIPT)]);
    const sid = await placedCall(stack, call!);
    expect(stack.twilio.bySid(sid)).toMatchObject({
      kind: 'call',
      to: FARMER,
      from: '+15005550006',
      url: `${stack.publicUrl}/api/twilio/voice/${call!.id}`,
      statusCallback: `${stack.publicUrl}/api/twilio/status`,
    });

    const wrongKey = await stack.twilio.signedPost(`${stack.publicUrl}/api/twilio/voice/${call!.id}/keypress`, {
      CallSid: sid,
      Digits: '2',
    });
    expect(wrongKey.text).toContain('<Redirect');
    expect(stack.notifier.outbox.get(call!.id)?.ackedAt).toBeNull();

    const { twiml, keypress } = await stack.twilio.answerCall(sid, '1');
    expect(twiml.status).toBe(200);
    expect(twiml.text).toMatch(/<Gather[^>]*numDigits="1"/);
    expect(twiml.text).toContain(`action="${stack.publicUrl}/api/twilio/voice/${call!.id}/keypress"`);
    expect(twiml.text.match(/<Say language="vi-VN">[^<]*nghiêm trọng[^<]*Bấm phím 1 để xác nhận.<\/Say>/g)).toHaveLength(2);
    expect(keypress?.text).toContain('Cảm ơn');
    expect(acked).toHaveLength(1);
    expect(acked[0]).toMatchObject({ id: call!.id, ackedAt: expect.any(Number) as unknown });
    expect(stack.notifier.outbox.get(call!.id)?.status).toBe('delivered');

    // A second keypress (Twilio retry, impatient farmer) is not a second acknowledgement.
    await stack.twilio.signedPost(`${stack.publicUrl}/api/twilio/voice/${call!.id}/keypress`, { CallSid: sid, Digits: '1' });
    expect(acked).toHaveLength(1);
    clock.advance(ACK_TIMEOUT_MS * 2);
    expect(stack.notifier.checkEscalations()).toEqual({ escalated: [], unreached: [] });
  });

  it('no keypress within the ack timeout calls the next contact; the end of the chain reports unreached once', async () => {
    const clock = shiftableClock();
    const unreached: OutboxRow[] = [];
    const chain: ChainStep[] = [
      { recipientKind: 'contact', recipientId: 21, phone: SECOND, language: 'vi' },
      { recipientKind: 'contact', recipientId: 22, phone: HEAD, language: 'vi' },
    ];
    stack = await startNotifyStack({
      clock,
      escalation: {
        chain: (row) => chain[row.escalationStep] ?? null,
        onUnreached: (row) => unreached.push(row),
        ackTimeoutMs: ACK_TIMEOUT_MS,
        scanEveryMs: 60_000,
      },
    });
    const [first] = stack.notifier.enqueue([voiceRow(FARMER, SCRIPT, { dedupeKey: 'event:9:farmer:1:voice', eventId: null })]);
    await stack.twilio.answerCall(await placedCall(stack, first!), null);
    expect(stack.notifier.outbox.get(first!.id)?.status).toBe('delivered');

    clock.advance(ACK_TIMEOUT_MS - 60_000);
    expect(stack.notifier.checkEscalations().escalated).toEqual([]);
    clock.advance(2 * 60_000);
    const { escalated } = stack.notifier.checkEscalations();
    expect(escalated).toMatchObject([
      {
        phone: SECOND,
        escalationStep: 1,
        recipientKind: 'contact',
        recipientId: 21,
        body: SCRIPT,
        dedupeKey: 'event:9:farmer:1:voice#esc1',
      },
    ]);
    expect(stack.notifier.checkEscalations().escalated).toEqual([]); // once

    const secondSid = await placedCall(stack, escalated[0]!);
    expect(stack.twilio.bySid(secondSid)?.to).toBe(SECOND);
    await stack.twilio.callStatus(secondSid, 'no-answer');
    expect(stack.notifier.outbox.get(escalated[0]!.id)?.status).toBe('undelivered');
    clock.advance(ACK_TIMEOUT_MS + 1);
    const third = stack.notifier.checkEscalations().escalated;
    expect(third).toMatchObject([{ phone: HEAD, escalationStep: 2, dedupeKey: 'event:9:farmer:1:voice#esc2' }]);

    const thirdSid = await placedCall(stack, third[0]!);
    await stack.twilio.callStatus(thirdSid, 'busy');
    clock.advance(ACK_TIMEOUT_MS + 1);
    expect(stack.notifier.checkEscalations()).toMatchObject({ escalated: [], unreached: [{ id: third[0]!.id }] });
    expect(stack.notifier.checkEscalations().unreached).toEqual([]);
    expect(unreached.map((r) => r.phone)).toEqual([HEAD]);
    expect(stack.twilio.created('call').map((r) => r.to)).toEqual([FARMER, SECOND, HEAD]);
  });

  it('escalates from a call that could not be placed at all, and keeps acknowledged chains quiet after a restart', async () => {
    const clock = shiftableClock();
    const escalation = {
      chain: () => ({ recipientKind: 'officer' as const, recipientId: 5, phone: HEAD, language: 'vi' as const }),
      ackTimeoutMs: ACK_TIMEOUT_MS,
      scanEveryMs: 60_000,
    };
    stack = await startNotifyStack({ clock, escalation });
    stack.twilio.failNext(1, 400);
    const [bad, good] = stack.notifier.enqueue([voiceRow('+84900000009', SCRIPT), voiceRow(FARMER, SCRIPT)]);
    await eventually(() => expect(stack!.notifier.outbox.get(bad!.id)?.status).toBe('failed'));
    await stack.twilio.answerCall(await placedCall(stack, good!), '1');

    const restarted = await stack.replaceNotifier({ clock, escalation }, true);
    clock.advance(ACK_TIMEOUT_MS + 1);
    const { escalated } = restarted.checkEscalations();
    expect(escalated.map((r) => [r.phone, r.recipientKind, r.escalationStep])).toEqual([[HEAD, 'officer', 1]]);
  });
});

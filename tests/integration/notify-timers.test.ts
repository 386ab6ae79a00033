import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../contracts/index.js';
import { createNotifyMetrics } from '../../server/notify/metrics.js';
import { OutboxRepository, type OutboxRow } from '../../server/notify/outbox.js';
import { CLOSE_RECORD_BUDGET_MS, createRecorder } from '../../server/notify/recorder.js';
import { openDatabase, type Db } from '../../server/registry/db.js';
import { smsRow, startNotifyStack, voiceRow, type NotifyStack } from '../../testkit/twilio-server.js';
import { eventually } from '../helpers/mqtt.js';
import { ManualTimers, turn } from '../helpers/manual-timers.js';
import { type HeldLock, holdWriteLock } from '../helpers/sqlite-lock.js';

const A = '+84912345678';
const B = '+84987654321';
const WATCH = 'Chú ý sương muối đêm nay. Chuẩn bị sẵn vật che phủ.';
const SCRIPT = 'Cảnh báo sương muối nghiêm trọng: nhiệt độ có thể xuống âm 1 độ lúc 5 giờ sáng.';
const ACK_TIMEOUT_MS = 10 * 60_000;
const T0 = Date.UTC(2026, 0, 15, 20, 0, 0);

let stack: NotifyStack | undefined;
let lock: HeldLock | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await lock?.released;
  await stack?.close();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  stack = lock = undefined;
});

/** A clock the test moves by hand, so "due in 300 ms" means exactly that. */
function manualClock(startMs: number): Clock & { advance(ms: number): void } {
  let nowMs = startMs;
  return { now: () => nowMs, speed: 1, advance: (ms) => (nowMs += ms) };
}

function statusOf(s: NotifyStack, row: OutboxRow | undefined): string | undefined {
  return row === undefined ? undefined : s.notifier.outbox.get(row.id)?.status;
}

describe('worker on injected timers', () => {
  it('looks at the table again when its idle poll fires, and not before', async () => {
    const timers = new ManualTimers();
    stack = await startNotifyStack({ dryRun: true, timers, clock: manualClock(T0), idlePollMs: 1_000 });
    await turn();
    expect(timers.pending()).toEqual([{ inMs: 1_000, everyMs: null }]);

    // Written by another process (or straight to the repository): nobody kicks the worker.
    const [row] = stack.notifier.outbox.enqueue([smsRow(A, WATCH)]);
    await timers.advance(999);
    expect(statusOf(stack, row)).toBe('pending');
    await timers.advance(1);
    expect(statusOf(stack, row)).toBe('dry_run');
    expect(timers.pending()).toEqual([{ inMs: 1_000, everyMs: null }]);
  });

  it('a kick ends the idle wait at once, and a row due sooner than the poll shortens it', async () => {
    const timers = new ManualTimers();
    const clock = manualClock(T0);
    stack = await startNotifyStack({ dryRun: true, timers, clock, idlePollMs: 1_000 });
    await turn();

    const [now] = stack.notifier.enqueue([smsRow(A, WATCH)]);
    await turn();
    expect(statusOf(stack, now)).toBe('dry_run'); // no timer fired
    // The idle the kick ended was cancelled, not left to fire: one wait armed, a fresh full poll.
    expect(timers.pending()).toEqual([{ inMs: 1_000, everyMs: null }]);

    const [later] = stack.notifier.enqueue([smsRow(B, WATCH, { notBeforeMs: T0 + 300 })]);
    await turn();
    expect(timers.pending()).toEqual([{ inMs: 300, everyMs: null }]);
    clock.advance(300);
    await timers.advance(299);
    expect(statusOf(stack, later)).toBe('pending');
    await timers.advance(1);
    expect(statusOf(stack, later)).toBe('dry_run');
  });

  it('paces segments on the injected time: the next SMS leaves only when the pacing wait fires', async () => {
    const timers = new ManualTimers();
    stack = await startNotifyStack({ timers, rateLimitPerSec: 1 });
    const s = stack;
    const [long, next] = s.notifier.enqueue([smsRow(A, WATCH, { segments: 3 }), smsRow(B, WATCH)]);
    await eventually(() => expect(statusOf(s, long)).toBe('sent'));
    // Three segments at one a second hold the line for 3 s of the timers' time, however long the test really waits.
    await eventually(() => expect(timers.pending()).toEqual([{ inMs: 3_000, everyMs: null }]));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(s.twilio.requests).toHaveLength(1);

    await timers.advance(2_999);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(s.twilio.requests).toHaveLength(1);
    await timers.advance(1);
    await eventually(() => expect(statusOf(s, next)).toBe('sent'));
    expect(s.twilio.created('message').map((r) => r.to)).toEqual([A, B]);
  });
});

describe('escalation scheduler on injected timers', () => {
  it('runs the scan every scanEveryMs, calls the next contact from it, and stops with close()', async () => {
    const timers = new ManualTimers();
    const clock = manualClock(Date.now());
    stack = await startNotifyStack({
      timers,
      clock,
      idlePollMs: 60_000,
      escalation: {
        chain: () => ({ recipientKind: 'contact', recipientId: 2, phone: B, language: 'vi' }),
        ackTimeoutMs: ACK_TIMEOUT_MS,
        scanEveryMs: 5_000,
      },
    });
    const s = stack;
    const [call] = s.notifier.enqueue([voiceRow(A, SCRIPT)]);
    await eventually(() => expect(statusOf(s, call)).toBe('sent'));
    const sid = s.notifier.outbox.get(call!.id)?.providerSid ?? '';
    await s.twilio.answerCall(sid, null); // answered, no keypress
    expect(timers.pending()).toContainEqual({ inMs: 5_000, everyMs: 5_000 });

    clock.advance(ACK_TIMEOUT_MS + 1); // the ack window is over: the next scan escalates
    await timers.advance(4_999);
    expect(s.notifier.outbox.recent(10)).toHaveLength(1);
    await timers.advance(1);
    const [escalated] = s.notifier.outbox.recent(1);
    expect(escalated).toMatchObject({ phone: B, escalationStep: 1, channel: 'voice' });
    // The scan woke the worker: the call is placed without waiting for the worker's 60 s poll.
    await eventually(() => expect(s.twilio.created('call').map((r) => r.to)).toEqual([A, B]));

    await s.notifier.close();
    expect(timers.pending()).toEqual([]);
  });
});

describe('recorder on injected timers, with another process holding the SQLite write lock', () => {
  /** A real lock, but this connection gives up after 50 ms instead of 5 s, so a failed try costs the test little. */
  async function startRecorder(): Promise<{ file: string; db: Db; outbox: OutboxRepository; timers: ManualTimers; row: OutboxRow }> {
    const dir = await mkdtemp(join(tmpdir(), 'frostwatch-recorder-'));
    const file = join(dir, 'frostwatch.db');
    const db = openDatabase(file, pino({ level: 'silent' }));
    cleanups.push(
      () => rm(dir, { recursive: true, force: true }),
      () => {
        db.close();
      },
    );
    db.pragma('busy_timeout = 50');
    const outbox = new OutboxRepository(db, systemClock);
    const [queued] = outbox.enqueue([smsRow(A, WATCH)]);
    const row = outbox.markSending(queued!);
    return { file, db, outbox, timers: new ManualTimers(), row };
  }

  function recorderFor(outbox: OutboxRepository, timers: ManualTimers) {
    return createRecorder({
      outbox,
      clock: systemClock,
      timers,
      logger: pino({ level: 'silent' }),
      metrics: createNotifyMetrics(new Registry(), outbox),
    });
  }

  it("holds Twilio's answer while the write fails and writes it when the retry timer fires after the lock is gone", async () => {
    const { file, outbox, timers, row } = await startRecorder();
    const recorder = recorderFor(outbox, timers);
    lock = await holdWriteLock(file, 2_000);
    let written = false;
    const recording = recorder.record(row, { ok: true, sid: 'SM00000000000000000000000000000001', status: 'queued' }).then(() => {
      written = true;
    });
    await turn();
    expect(written).toBe(false);
    expect(timers.pending()).toEqual([{ inMs: 1_000, everyMs: null }]);
    expect(outbox.get(row.id)).toMatchObject({ status: 'sending', providerSid: null });

    await lock.released;
    expect(written).toBe(false); // the lock is gone, but the next try waits for its timer
    await timers.advance(1_000);
    await recording;
    expect(outbox.get(row.id)).toMatchObject({ status: 'sent', providerSid: 'SM00000000000000000000000000000001', attempts: 1 });
  });

  it('once closing, gives the answer up after the close budget and leaves the row in sending for the next start', async () => {
    const { file, outbox, timers, row } = await startRecorder();
    const recorder = recorderFor(outbox, timers);
    lock = await holdWriteLock(file, 3_000);
    recorder.closing();
    let settled = false;
    const recording = recorder.record(row, { ok: true, sid: 'SM00000000000000000000000000000002', status: 'queued' }).then(() => {
      settled = true;
    });
    await timers.advance(CLOSE_RECORD_BUDGET_MS);
    expect(settled).toBe(false); // still within the budget: still trying, one retry armed
    expect(timers.pending()).toEqual([{ inMs: 1_000, everyMs: null }]);
    await timers.advance(1_000);
    await recording;
    expect(timers.pending()).toEqual([]);
    await lock.released;
    expect(outbox.get(row.id)).toMatchObject({ status: 'sending', providerSid: null });
    expect(outbox.recoverInFlight()).toBe(1);
  });
});

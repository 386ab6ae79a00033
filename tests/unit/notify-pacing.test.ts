import { describe, expect, it } from 'vitest';
import { escalationKey, escalationRootKey } from '../../server/notify/outbox.js';
import { backoffMs, UnitRateLimiter } from '../../server/notify/pacing.js';
import { classifyTwilioError, RewritingRequestClient } from '../../server/notify/twilio-client.js';
import { callScript } from '../../server/routes/twilio.js';

describe('UnitRateLimiter', () => {
  it('lets the first request go at once and spaces the next ones by their units', () => {
    let now = 1_000;
    const limiter = new UnitRateLimiter(2, () => now); // 500 ms a unit
    expect(limiter.delayMs()).toBe(0);
    limiter.take(3);
    expect(limiter.delayMs()).toBe(1_500);
    now += 1_500;
    expect(limiter.delayMs()).toBe(0);
    limiter.take(1);
    now += 200;
    expect(limiter.delayMs()).toBe(300);
  });

  it('does not bank idle time into a burst', () => {
    let now = 0;
    const limiter = new UnitRateLimiter(1, () => now);
    limiter.take(1);
    now = 60_000;
    limiter.take(1);
    expect(limiter.delayMs()).toBe(1_000);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuses rate %s', (rate) => {
    expect(() => new UnitRateLimiter(rate)).toThrow(RangeError);
  });
});

describe('backoffMs', () => {
  it.each([
    // attempt, random, expected (base 1 s, cap 60 s)
    [1, 0, 500],
    [1, 1, 1_000],
    [2, 0.5, 1_500],
    [4, 1, 8_000],
    [10, 0, 30_000],
    [10, 1, 60_000],
  ])('attempt %i with random %s waits %i ms', (attempt, random, expected) => {
    expect(backoffMs(attempt, { baseMs: 1_000, maxMs: 60_000 }, () => random)).toBe(expected);
  });
});

describe('escalation keys', () => {
  it.each([
    ['event:1:farmer:2:voice', 0],
    ['event:1:farmer:2:voice', 3],
    ['odd#esc1:key', 2],
  ])('%s at step %i round-trips', (root, step) => {
    const key = escalationKey(root, step);
    expect(escalationRootKey({ dedupeKey: key, escalationStep: step })).toBe(root);
  });
});

describe('RewritingRequestClient', () => {
  const client = new RewritingRequestClient('http://127.0.0.1:4010/prefix/');
  it.each([
    ['https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json', 'http://127.0.0.1:4010/prefix/2010-04-01/Accounts/AC1/Messages.json'],
    ['https://messaging.twilio.com/v1/Services', 'http://127.0.0.1:4010/prefix/v1/Services'],
    ['https://api.dublin.ie1.twilio.com:443/2010-04-01/Calls.json', 'http://127.0.0.1:4010/prefix/2010-04-01/Calls.json'],
    ['https://example.com/twilio.com/x', 'https://example.com/twilio.com/x'],
    ['https://eviltwilio.com/x', 'https://eviltwilio.com/x'],
  ])('%s → %s', (from, to) => {
    expect(client.rewrite(from)).toBe(to);
  });
});

describe('classifyTwilioError', () => {
  const rest = (status: number, code?: number) => Object.assign(new Error('refused'), { status, code });
  it.each([
    [rest(429, 20429), true],
    [rest(500), true],
    [rest(503), true],
    [rest(400, 21211), false],
    [rest(401, 20003), false],
    [rest(404), false],
    [Object.assign(new Error('timeout of 10000ms exceeded'), { code: 'ECONNABORTED' }), true],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), true],
  ])('%s → retryable %s', (error, retryable) => {
    expect(classifyTwilioError(error)).toMatchObject({ ok: false, retryable });
  });

  it('rethrows what is neither an HTTP answer nor a network error (a bug)', () => {
    expect(() => classifyTwilioError(new TypeError('undefined is not a function'))).toThrow(TypeError);
  });
});

describe('callScript', () => {
  it('escapes the text, says it twice in the row language and waits for one key', () => {
    const xml = callScript({ body: 'Nhiệt độ < 0 °C & gió lặng', language: 'vi' }, 'https://x.test/api/twilio/voice/7/keypress').toString();
    expect(xml).toContain('<Gather numDigits="1" action="https://x.test/api/twilio/voice/7/keypress" method="POST" timeout="10">');
    expect(xml.match(/<Say language="vi-VN">Nhiệt độ &lt; 0 °C &amp; gió lặng Bấm phím 1 để xác nhận.<\/Say>/g)).toHaveLength(2);
    const en = callScript({ body: 'Frost tonight', language: 'en' }, 'https://x.test/k').toString();
    expect(en).toContain('<Say language="en-US">Frost tonight Press 1 to confirm.</Say>');
  });
});

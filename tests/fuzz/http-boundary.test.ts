import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, type Farmer, type Station, type StationCreate } from '../../contracts/index.js';
import { normalisePhone } from '../../server/registry/phone.js';
import { type Caller, CALLERS, type FullApp, PUBLIC_URL, TWILIO_AUTH_TOKEN, stationBody, startFullApp } from '../helpers/full-app.js';
import { FUZZ_TIMEOUT_MS, fuzzRuns } from './fuzz-settings.js';
import twilio from 'twilio';

/**
 * HTTP bodies, query strings and path parameters through the real app (inject, real SQLite, real influxd): whatever
 * arrives, no route answers 5xx, and a refusal is `{error, message}`; valid bodies are stored and read back exactly.
 * Twilio callbacks: an unsigned, mis-signed or altered callback gets 403 and changes nothing at all.
 */
const NOW = Date.UTC(2026, 0, 15, 22, 0, 0);
const clock: Clock = { now: () => NOW, speed: 1 };
let fx: FullApp;
let routes: string[];

beforeAll(async () => {
  fx = await startFullApp({ clock });
  await fx.stations.create(stationBody('ld-fuzz-01'));
  // Every route but the event stream, which never ends (its head is checked in auth-access.test.ts).
  routes = [...fx.routes.keys()].filter((r) => r !== 'GET /api/events').sort();
}, 120_000);

afterAll(async () => {
  // Also runs when beforeAll failed part-way, before this was assigned.
  await (fx as FullApp | undefined)?.close();
});

/** Text a client might send anywhere: printable, Unicode, or the characters parsers trip on. */
const junk = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({
    unit: fc.constantFrom('%', '&', '=', '?', '/', '\\', '"', "'", '[', ']', '{', '}', '\0', '\n', '.', '-', '1', 'a'),
    maxLength: 16,
  }),
  fc.constantFrom(
    'ld-fuzz-01',
    '1',
    '0',
    '-1',
    '1e309',
    'NaN',
    'null',
    'true',
    '2026-01-15',
    '2026-01-15T00:00:00Z',
    '5m',
    'night',
    'csv',
    'Lát',
  ),
);
const QUERY_KEYS = [
  'from',
  'to',
  'every',
  'range',
  'date',
  'format',
  'status',
  'stationId',
  'limit',
  'hours',
  'before',
  'action',
  'actor',
  '__proto__',
  'constructor',
];
const query = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), junk), junk), { maxLength: 4 })
  .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
const body = fc.oneof(
  fc.record({ type: fc.constant('application/json'), payload: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) }),
  fc.record({
    type: fc.constantFrom(
      'application/json',
      'text/csv',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/xml',
      'multipart/form-data',
    ),
    payload: fc.string({ unit: 'binary', maxLength: 200 }),
  }),
  fc.record({
    type: fc.constant('application/json'),
    payload: fc.constantFrom(
      '{"__proto__": {"role": "admin"}}',
      '{"constructor": {"prototype": {}}}',
      '[]'.repeat(50),
      '{'.repeat(2_000),
      '"',
      '{"a":1e999}',
    ),
  }),
);

function fill(route: string, params: string[]): string {
  let k = 0;
  return route.split(' ')[1]!.replace(/:[A-Za-z]+|\*/g, () => encodeURIComponent(params[k++] ?? 'x'));
}

function expectNoServerError(res: LightMyRequestResponse, what: string): void {
  expect(res.statusCode, `${what} → ${res.body.slice(0, 300)}`).toBeLessThan(500);
  if (res.statusCode >= 400 && what.includes(' /api/')) {
    const keys = Object.keys(res.json<object>()).sort();
    // The station import names each refused station (`lines`, its documented answer); every other error is {error, message}.
    if (what.includes(' /api/stations/import') && keys.includes('lines')) expect(keys, what).toEqual(['error', 'lines', 'message']);
    else expect(keys, what).toEqual(['error', 'message']);
  }
}

describe('every route, any body, any query', () => {
  it(
    'never answers 5xx, and refuses with {error, message}',
    async () => {
      const caller = fc.constantFrom<Caller>(...CALLERS);
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 10_000 }),
          caller,
          fc.array(junk, { minLength: 3, maxLength: 3 }),
          query,
          body,
          async (pick, who, params, q, b) => {
            const route = routes[pick % routes.length]!;
            const method = route.split(' ')[0] as NonNullable<InjectOptions['method']>;
            // Signing out would end the session the other runs use.
            const headers = route === 'DELETE /api/session' ? {} : { ...fx.headers[who] };
            const url = `${fill(route, params)}${q === '' ? '' : `?${q}`}`;
            const withBody = method !== 'GET' ? { payload: b.payload, headers: { ...headers, 'content-type': b.type } } : { headers };
            const res = await fx.app.inject({ method, url, ...withBody });
            expectNoServerError(res, `${method} ${url}`);
          },
        ),
        fuzzRuns(800),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'answers the readings, chart and report queries 200 or 400, nothing else',
    async () => {
      const paths = [
        '/api/stations/ld-fuzz-01/readings',
        '/api/stations/ld-fuzz-01/chart',
        '/api/reports/night',
        '/api/reports/season',
        '/api/alerts',
        '/api/alerts/unreached',
        '/api/audit',
      ];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...paths), query, async (path, q) => {
          const res = await fx.app.inject({ method: 'GET', url: `${path}?${q}`, headers: fx.headers['admin-token'] });
          expect([200, 400], `${path}?${q} → ${res.body.slice(0, 200)}`).toContain(res.statusCode);
        }),
        fuzzRuns(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0 && s.trim().length <= 100);
const stationCreate: fc.Arbitrary<StationCreate> = fc
  .record({
    id: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,62}$/),
    name: text,
    commune: text,
    lat: fc.double({ min: -90, max: 90, noNaN: true }),
    lon: fc.double({ min: -180, max: 180, noNaN: true }),
    elevationM: fc.double({ min: -500, max: 9_000, noNaN: true }),
    crop: fc.constantFrom('arabica', 'robusta', 'young'),
  })
  .map((s) => s as StationCreate);
const mobile = fc
  .tuple(fc.constantFrom('32', '70', '86', '90', '91', '97'), fc.stringMatching(/^[0-9]{7}$/))
  .map(([p, rest]) => `0${p}${rest}`)
  .filter((n) => normalisePhone(n).ok);

describe('valid bodies round-trip', () => {
  it(
    'stores a station exactly as registered',
    async () => {
      await fc.assert(
        fc.asyncProperty(stationCreate, async (s) => {
          const created = await fx.app.inject({ method: 'POST', url: '/api/stations', headers: fx.headers['admin-token'], payload: s });
          if (created.statusCode === 409) return; // the id was drawn twice
          expect(created.statusCode, created.body).toBe(201);
          const back = (await fx.app.inject({ method: 'GET', url: `/api/stations/${s.id}`, headers: fx.headers.viewer })).json<Station>();
          const wire = JSON.parse(JSON.stringify(s)) as StationCreate; // JSON has no −0
          expect(back).toMatchObject({ ...wire, name: s.name.trim(), commune: s.commune.trim() });
        }),
        fuzzRuns(20),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'stores a farmer exactly as registered, the phone in E.164',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          text,
          mobile,
          fc.constantFrom('vi', 'en'),
          fc.boolean(),
          fc.option(text, { nil: undefined }),
          async (name, phone, language, diacritics, commune) => {
            const sent = { name, phone, language, diacritics, commune, stationIds: ['ld-fuzz-01'] };
            const created = await fx.app.inject({ method: 'POST', url: '/api/farmers', headers: fx.headers.officer, payload: sent });
            if (created.statusCode === 409) return; // the phone was drawn twice
            expect(created.statusCode, created.body).toBe(201);
            const back = (
              await fx.app.inject({ method: 'GET', url: `/api/farmers/${created.json<Farmer>().id}`, headers: fx.headers.officer })
            ).json<Farmer>();
            const e164 = normalisePhone(phone);
            // The registry keeps names in NFC (what SMS are composed in) and communes with their spaces collapsed.
            const communeStored = commune === undefined ? null : commune.normalize('NFC').trim().replace(/\s+/g, ' ');
            expect(back).toMatchObject({
              name: name.trim().normalize('NFC'),
              phone: e164.ok ? e164.e164 : '',
              language,
              diacritics,
              commune: communeStored,
              subscriptions: [{ stationId: 'ld-fuzz-01', offsetC: 0 }],
            });
          },
        ),
        fuzzRuns(150),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

describe('Twilio callbacks', () => {
  const PATHS = ['/status', '/voice/1', '/voice/1/keypress', '/voice/2', '/voice/2/keypress'] as const;
  const form = fc.dictionary(
    fc.oneof(
      fc.constantFrom('Digits', 'MessageSid', 'MessageStatus', 'CallSid', 'CallStatus', 'ErrorCode', 'AccountSid'),
      fc.string({ maxLength: 8 }),
    ),
    fc.oneof(fc.constantFrom('1', 'SM-known', 'delivered', 'failed', 'completed'), fc.string({ maxLength: 12 })),
    { maxKeys: 5 },
  );

  /** Every table a callback could touch, as text. */
  function state(): string {
    return JSON.stringify(
      ['outbox', 'alerts', 'alert_events', 'audit_log'].map((t) => fx.db.prepare(`SELECT * FROM ${t} ORDER BY 1`).all()),
    );
  }

  type Forgery = 'none' | 'empty' | 'random' | 'other-body' | 'other-url' | 'other-token' | 'altered-body' | 'flipped';
  function forge(kind: Forgery, path: string, params: Record<string, string>, noise: string): Record<string, string> {
    const url = `${PUBLIC_URL}/api/twilio${path}`;
    const sign = (token: string, signedUrl: string, p: Record<string, string>) => twilio.getExpectedTwilioSignature(token, signedUrl, p);
    const good = sign(TWILIO_AUTH_TOKEN, url, params);
    switch (kind) {
      case 'none':
        return {};
      case 'empty':
        return { 'x-twilio-signature': '' };
      case 'random':
        return { 'x-twilio-signature': noise };
      case 'other-body':
        return { 'x-twilio-signature': sign(TWILIO_AUTH_TOKEN, url, { ...params, Digits: `${params['Digits'] ?? ''}9` }) };
      case 'other-url':
        return { 'x-twilio-signature': sign(TWILIO_AUTH_TOKEN, url.replace('https:', 'http:'), params) };
      case 'other-token':
        return { 'x-twilio-signature': sign(`${TWILIO_AUTH_TOKEN}x`, url, params) };
      case 'altered-body':
        return { 'x-twilio-signature': good, 'x-alter': '1' };
      case 'flipped':
        return { 'x-twilio-signature': `${good.slice(0, -2)}${good.endsWith('A=') ? 'B=' : 'A='}` };
    }
  }

  beforeAll(() => {
    // A sent SMS Twilio knows as SM-known, and a voice call waiting for its keypress: what a forger would aim at.
    const later = NOW + 365 * 86_400_000; // never picked up by the worker
    const base = {
      eventId: null,
      recipientKind: 'farmer' as const,
      recipientId: 1,
      phone: '+84912345678',
      language: 'vi' as const,
      body: 'Sương muối',
      encoding: 'UCS-2',
      segments: 1,
      costUsd: 0,
      notBeforeMs: later,
    };
    const [sms] = fx.warnings.notifier.enqueue([{ ...base, dedupeKey: 'fuzz-sms', channel: 'sms' }]);
    fx.warnings.notifier.enqueue([{ ...base, dedupeKey: 'fuzz-call', channel: 'voice' }]);
    if (sms) fx.warnings.notifier.outbox.markSent(sms, 'SM-known');
  });

  it(
    'refuses every unsigned, mis-signed or altered callback with 403 and changes nothing',
    async () => {
      const forgery = fc.constantFrom<Forgery>(
        'none',
        'empty',
        'random',
        'other-body',
        'other-url',
        'other-token',
        'altered-body',
        'flipped',
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...PATHS), form, forgery, fc.string({ maxLength: 40 }), async (path, params, kind, noise) => {
          const before = state();
          const { 'x-alter': alter, ...signature } = forge(kind, path, params, noise);
          const sent = alter ? { ...params, Digits: '1', MessageStatus: 'delivered', CallStatus: 'completed' } : params;
          if (alter && JSON.stringify(sent) === JSON.stringify(params)) return; // nothing was altered
          const res = await fx.app.inject({
            method: 'POST',
            url: `/api/twilio${path}`,
            payload: new URLSearchParams(sent).toString(),
            headers: { 'content-type': 'application/x-www-form-urlencoded', ...signature },
          });
          expect(res.statusCode, `${kind} ${path} ${res.body}`).toBe(403);
          expect(state()).toBe(before);
        }),
        fuzzRuns(250),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'never answers a signed callback 5xx, whatever its fields',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('/status', '/voice/999999', '/voice/999999/keypress', '/voice/0', '/voice/abc/keypress'),
          form,
          async (path, params) => {
            const signed = fx.twilioRequest(path, params);
            const res = await fx.app.inject({ method: 'POST', ...signed });
            expect(res.statusCode, `${path} ${res.body}`).toBeLessThan(500);
          },
        ),
        fuzzRuns(200),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

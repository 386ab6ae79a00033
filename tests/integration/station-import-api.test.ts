import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditPageSchema,
  type Clock,
  STATION_IMPORT_MAX,
  StationImportErrorSchema,
  StationImportResultSchema,
} from '../../contracts/index.js';
import { CachingStationAuthenticator } from '../../server/auth/station-authenticator.js';
import { type FullApp, stationBody, startFullApp } from '../helpers/full-app.js';
import { textLogger } from '../helpers/mqtt.js';

/**
 * `POST /api/stations/import`: a district's fleet in one request, all or none, through StationRepository.createMany —
 * one transaction, the keyed token hash — with every refused station named by its index, audited like a single create.
 */
const NOW = Date.UTC(2026, 0, 15, 22, 0, 0);
const clock: Clock = { now: () => NOW, speed: 1 };
const { logger, lines: logLines } = textLogger();
const issued: string[] = [];
let fx: FullApp;

beforeAll(async () => {
  fx = await startFullApp({ clock, logger });
  await fx.stations.create(stationBody('ld-imp-registered', { source: 'chirpstack', deviceId: 'a84041000181c0de' }));
}, 120_000);

afterAll(async () => {
  await (fx as FullApp | undefined)?.close();
  const log = logLines.join('');
  for (const token of issued) expect(log).not.toContain(token);
});

const post = (payload: unknown, caller: keyof FullApp['headers'] = 'admin-token') =>
  fx.app.inject({ method: 'POST', url: '/api/stations/import', headers: fx.headers[caller], payload: payload as object });

const registered = (ids: string[]) => ids.filter((id) => fx.stations.get(id) !== null);

describe('POST /api/stations/import', () => {
  it('registers every station in one answer of 201 with a token each, in the order sent; each token logs in', async () => {
    const body = {
      stations: [
        stationBody('ld-imp-01'),
        stationBody('ld-imp-02', { commune: 'Đạ Sar', crop: 'young' }),
        stationBody('ld-imp-03', { source: 'chirpstack', deviceId: 'a84041000181c0df', preset: 'dragino-lht65' }),
      ],
    };
    const res = await post(body);
    expect(res.statusCode, res.body).toBe(201);
    const result = StationImportResultSchema.strict().parse(res.json());
    issued.push(...result.tokens.map((t) => t.token));
    expect(result.created).toBe(3);
    expect(result.tokens.map((t) => t.id)).toEqual(['ld-imp-01', 'ld-imp-02', 'ld-imp-03']);
    expect(fx.stations.get('ld-imp-02')).toMatchObject({ commune: 'Đạ Sar', crop: 'young' });
    expect(fx.stations.byDevice('chirpstack', 'a84041000181c0df')?.id).toBe('ld-imp-03');
    const auth = new CachingStationAuthenticator(fx.stations);
    for (const { id, token } of result.tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(await auth.verify(id, Buffer.from(token)), id).toBe('ok');
    }
  });

  it('is audited as station.import with the count, never a token', async () => {
    const res = await post({ stations: [stationBody('ld-imp-audit-1'), stationBody('ld-imp-audit-2')] });
    expect(res.statusCode).toBe(201);
    issued.push(...StationImportResultSchema.parse(res.json()).tokens.map((t) => t.token));
    const page = await fx.app.inject({ method: 'GET', url: '/api/audit?action=station.import&limit=1', headers: fx.headers.admin });
    const [entry] = AuditPageSchema.parse(page.json()).entries;
    expect(entry).toMatchObject({ actorKind: 'token', actor: 'admin-token', target: null, outcome: 'ok', statusCode: 201 });
    expect(entry?.details).toEqual({ created: 2 });
    const all = (await fx.app.inject({ method: 'GET', url: '/api/audit?limit=500', headers: fx.headers.admin })).body;
    for (const token of issued) expect(all).not.toContain(token);
  });

  it('answers 400 naming every bad station by index, and registers none of the good ones', async () => {
    const res = await post({
      stations: [
        stationBody('ld-imp-good-a'),
        stationBody('ld-imp-bad-lat', { lat: 200 }),
        { ...stationBody('ld-imp-no-name'), name: '' },
        stationBody('ld-imp-good-a'), // the same id twice
        stationBody('ld-imp-bad-dev', { source: 'chirpstack' }), // no DevEUI
        stationBody('ld-imp-good-b'),
        stationBody('ld-imp-registered'), // and one that exists already
        { id: 'Not An Id' },
      ],
    });
    expect(res.statusCode, res.body).toBe(400);
    const body = StationImportErrorSchema.strict().parse(res.json());
    expect(body.error).toBe('bad_request');
    expect(body.message).toBe('6 of 8 stations refused; nothing was registered');
    expect(body.lines.map((l) => [l.index, l.id])).toEqual([
      [1, 'ld-imp-bad-lat'],
      [2, 'ld-imp-no-name'],
      [3, 'ld-imp-good-a'],
      [4, 'ld-imp-bad-dev'],
      [6, 'ld-imp-registered'],
      [7, 'Not An Id'],
    ]);
    const reason = (index: number) => body.lines.find((l) => l.index === index)?.reason;
    expect(reason(1)).toMatch(/^lat: /);
    expect(reason(2)).toMatch(/^name: /);
    expect(reason(3)).toBe('same id as index 0');
    expect(reason(4)).toMatch(/deviceId: required for source chirpstack/);
    expect(reason(6)).toBe('station ld-imp-registered already exists');
    expect(reason(7)).toMatch(/id: .*name: .*lat: /);
    expect(registered(['ld-imp-good-a', 'ld-imp-good-b', 'ld-imp-bad-lat'])).toEqual([]);
  });

  it('answers 409 when the only problems are stations or devices registered already; nothing is registered', async () => {
    const res = await post({
      stations: [
        stationBody('ld-imp-new-1'),
        stationBody('ld-imp-registered'),
        stationBody('ld-imp-new-2', { source: 'chirpstack', deviceId: 'a84041000181c0de' }),
        stationBody('ld-imp-new-3'),
      ],
    });
    expect(res.statusCode, res.body).toBe(409);
    const body = StationImportErrorSchema.parse(res.json());
    expect(body.error).toBe('conflict');
    expect(body.lines).toEqual([
      { index: 1, id: 'ld-imp-registered', reason: 'station ld-imp-registered already exists' },
      { index: 2, id: 'ld-imp-new-2', reason: 'device a84041000181c0de (chirpstack) is already registered to station ld-imp-registered' },
    ]);
    expect(registered(['ld-imp-new-1', 'ld-imp-new-2', 'ld-imp-new-3'])).toEqual([]);
  });

  it('refuses the same device twice within the list (400)', async () => {
    const device = { source: 'tasmota' as const, deviceId: 'frost_garden_7' };
    const res = await post({ stations: [stationBody('ld-imp-dev-1', device), stationBody('ld-imp-dev-2', device)] });
    expect(res.statusCode).toBe(400);
    expect(StationImportErrorSchema.parse(res.json()).lines).toEqual([
      { index: 1, id: 'ld-imp-dev-2', reason: 'same device (tasmota frost_garden_7) as index 0' },
    ]);
  });

  it('answers 400 for a body without a list, an empty list, or more than the cap', async () => {
    for (const payload of [{}, { stations: [] }, { stations: 'ld-1' }, { stations: Array(STATION_IMPORT_MAX + 1).fill({}) }]) {
      const res = await post(payload);
      expect(res.statusCode).toBe(400);
      // No list of stations: the plain {error, message} of every route (`lines` name refused stations only).
      const body = res.json<Record<string, unknown>>();
      expect(Object.keys(body).sort()).toEqual(['error', 'message']);
      expect(body['message']).toMatch(/^body\.stations: /);
    }
    const notJson = await fx.app.inject({
      method: 'POST',
      url: '/api/stations/import',
      headers: { ...fx.headers['admin-token'], 'content-type': 'application/json' },
      payload: '{"stations": [',
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json()).toMatchObject({ error: 'bad_request', message: 'body: not valid JSON' });
  });

  it('answers 413 for a body over 8 MiB', async () => {
    const filler = 'x'.repeat(1_000);
    const stations = Array.from({ length: 9_000 }, (_, i) => ({ ...stationBody(`ld-imp-big-${i}`), name: filler }));
    const res = await post({ stations });
    expect(res.statusCode).toBe(413);
    expect(registered(['ld-imp-big-0'])).toEqual([]);
  });

  it('is refused without credentials (401) and to officers and viewers (403); nothing is registered', async () => {
    for (const [caller, status] of [
      ['nobody', 401],
      ['officer', 403],
      ['viewer', 403],
    ] as const) {
      const res = await post({ stations: [stationBody(`ld-imp-${caller}`)] }, caller);
      expect(res.statusCode, caller).toBe(status);
      expect(fx.stations.get(`ld-imp-${caller}`)).toBeNull();
    }
  });
});

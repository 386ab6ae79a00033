import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FarmerImportReportSchema, FarmerSchema, OfficerSchema, type Clock, type StationCreate } from '../../contracts/index.js';
import { buildApp } from '../../server/app.js';
import { authenticate, type Principal } from '../../server/auth/request-auth.js';
import { openDatabase, type Db } from '../../server/registry/db.js';
import { PeopleRepository } from '../../server/registry/people.js';
import { StationRepository } from '../../server/registry/stations.js';
import { peopleRoutes } from '../../server/routes/people.js';
import { textLogger } from '../helpers/mqtt.js';

const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);
const ADMIN = 'test-admin-token-0123456789';
const VIEWER = 'test-viewer-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };
const viewer = { authorization: `Bearer ${VIEWER}` };

const { logger, lines: logLines } = textLogger();
/** Every full number a test sends; none may reach the log. */
const PHONES = ['84912345678', '84987654321', '84933111222', '84933111223', '84933111224', '84988111222'];

let dir: string;
let db: Db;
let app: FastifyInstance;

/** The app as the server builds it, with the people routes mounted under /api behind the same authentication. */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-people-api-'));
  db = openDatabase(join(dir, 'frostwatch.db'), logger);
  const clock: Clock = { now: () => NOW, speed: 1 };
  const stations = new StationRepository(db, clock);
  for (const id of ['ld-dasar-01', 'ld-lat-01']) {
    await stations.create({ id, name: id, commune: 'Lát', lat: 12, lon: 108.4, elevationM: 1_500, crop: 'arabica' } as StationCreate);
  }
  const people = new PeopleRepository(db, clock);
  app = await buildApp({
    logger,
    clock,
    stations,
    readings: { query: () => Promise.resolve([]) },
    activity: { get: () => ({ lastSeenAt: null, online: null }) },
    health: () => Promise.resolve({ status: 'ok', checks: {} }),
    metrics: new Registry(),
    adminToken: ADMIN,
  });
  const principals: Record<string, Principal> = {
    [`Bearer ${ADMIN}`]: { role: 'admin', subject: 'admin' },
    [`Bearer ${VIEWER}`]: { role: 'viewer', subject: 'viewer' },
  };
  await app.register(
    async (api) => {
      api.decorateRequest('principal', null);
      api.addHook(
        'onRequest',
        authenticate((header) => (header === undefined ? null : (principals[header] ?? null))),
      );
      await api.register(peopleRoutes({ people }));
    },
    { prefix: '/api' },
  );
});

afterAll(async () => {
  await app.close();
  db.close();
  await rm(dir, { recursive: true, force: true });
  const log = logLines.join('');
  for (const phone of PHONES) expect(log).not.toContain(phone);
  expect(log).toContain('+8491•••5678');
});

function expectError(response: LightMyRequestResponse, statusCode: number, messagePart: RegExp): void {
  expect(response.statusCode).toBe(statusCode);
  const body = response.json<{ error: string; message: string }>();
  expect(Object.keys(body).sort()).toEqual(['error', 'message']);
  expect(body.message).toMatch(messagePart);
}

describe('farmers API', () => {
  let id: number;

  it('registers a farmer from the DESIGN contract body, with the phone in a local form', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/farmers',
      headers: admin,
      payload: { name: 'Ka Ho', phone: '0912 345 678', language: 'vi', stationIds: ['ld-dasar-01'] },
    });
    expect(response.statusCode).toBe(201);
    const farmer = FarmerSchema.strict().parse(response.json());
    id = farmer.id;
    expect(farmer).toEqual({
      id,
      name: 'Ka Ho',
      phone: '+84912345678',
      language: 'vi',
      diacritics: true,
      commune: null,
      districtId: 'lac-duong',
      subscriptions: [{ stationId: 'ld-dasar-01', offsetC: 0 }],
      contacts: [],
      createdAt: new Date(NOW).toISOString(),
      optedOutAt: null,
      optedOutVia: null,
    });
  });

  it('accepts the optional commune, diacritics, offsets and escalation chain', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/farmers',
      headers: admin,
      payload: {
        name: 'Y Điệp',
        phone: '+84 987 654 321',
        language: 'en',
        diacritics: false,
        commune: 'Lát',
        stationIds: [],
        subscriptions: [{ stationId: 'ld-lat-01', offsetC: -2 }],
        contacts: [{ role: 'village_head', name: 'Trưởng thôn', phone: '0933 111 222' }],
      },
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({
      diacritics: false,
      commune: 'Lát',
      subscriptions: [{ stationId: 'ld-lat-01', offsetC: -2 }],
      contacts: [{ position: 1, phone: '+84933111222' }],
    });
  });

  it('answers 409 for a phone already registered, in any form', async () => {
    const again = await app.inject({
      method: 'POST',
      url: '/api/farmers',
      headers: admin,
      payload: { name: 'X', phone: '84912345678', language: 'vi', stationIds: ['ld-lat-01'] },
    });
    expectError(again, 409, /already registered/);
  });

  it.each([
    [{ name: 'X', phone: '0123', language: 'vi', stationIds: ['ld-lat-01'] }, /phone: .*not a valid number/],
    [{ name: 'X', phone: '0933 111 223', language: 'vi', stationIds: ['ld-nowhere'] }, /unknown station ld-nowhere/],
    [{ name: 'X', phone: '0933 111 223', language: 'fr', stationIds: ['ld-lat-01'] }, /body\.language/],
    [{ name: 'X', phone: '0933 111 223', language: 'vi', stationIds: ['Bad Id'] }, /body\.stationIds\.0/],
    [{ name: '', phone: '0933 111 223', language: 'vi', stationIds: ['ld-lat-01'] }, /body\.name/],
  ])('answers 400 for %j', async (payload, message) => {
    expectError(await app.inject({ method: 'POST', url: '/api/farmers', headers: admin, payload }), 400, message);
  });

  it('lists and shows farmers; a viewer sees phones masked and cannot write', async () => {
    const list = await app.inject({ method: 'GET', url: '/api/farmers', headers: admin });
    expect(list.statusCode).toBe(200);
    expect(
      FarmerSchema.array()
        .parse(list.json())
        .map((f) => f.phone),
    ).toEqual(['+84912345678', '+84987654321']);

    const seen = await app.inject({ method: 'GET', url: `/api/farmers/${id}`, headers: viewer });
    expect(seen.statusCode).toBe(200);
    expect(seen.json()).toMatchObject({ id, phone: '+8491•••5678' });
    const viewerList = await app.inject({ method: 'GET', url: '/api/farmers', headers: viewer });
    for (const phone of PHONES) expect(viewerList.body).not.toContain(phone);

    expectError(
      await app.inject({
        method: 'POST',
        url: '/api/farmers',
        headers: viewer,
        payload: { name: 'X', phone: '0933 111 224', stationIds: ['ld-lat-01'] },
      }),
      403,
      /admin/,
    );
    expectError(await app.inject({ method: 'GET', url: '/api/farmers' }), 401, /bearer/);
  });

  it('removes a farmer, then answers 404', async () => {
    expectError(await app.inject({ method: 'DELETE', url: `/api/farmers/${id}`, headers: viewer }), 403, /admin/);
    expect((await app.inject({ method: 'DELETE', url: `/api/farmers/${id}`, headers: admin })).statusCode).toBe(204);
    expectError(await app.inject({ method: 'DELETE', url: `/api/farmers/${id}`, headers: admin }), 404, /not found/);
    expectError(await app.inject({ method: 'GET', url: `/api/farmers/${id}`, headers: admin }), 404, /not found/);
    expectError(await app.inject({ method: 'GET', url: '/api/farmers/abc', headers: admin }), 400, /params\.id/);
  });
});

describe('CSV import over HTTP', () => {
  const csv = [
    'name,phone,language,commune,station_ids,diacritics',
    'Nguyễn Văn Hà,0912 345 678,vi,Lát,ld-lat-01;ld-dasar-01,',
    'Bad Phone,0123,vi,Lát,ld-lat-01,',
    '"Trần, Thị B",+84 933 111 223,EN,,ld-dasar-01,no',
    'Unknown Station,0933 111 224,vi,,ld-nowhere,',
    'Same Phone,0912345678,vi,Lát,,',
    '',
  ].join('\n');

  it('saves the good rows and reports each bad one by its line, as text/csv', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/farmers/import',
      headers: { ...admin, 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(response.statusCode).toBe(200);
    const report = FarmerImportReportSchema.parse(response.json());
    expect(report).toMatchObject({ created: 2, updated: 0, failed: 3 });
    expect(report.rows.map(({ row, ok, action, error }) => ({ row, ok, action, error: error?.replace(/".*"/, '…') }))).toEqual([
      { row: 2, ok: true, action: 'created', error: undefined },
      { row: 3, ok: false, action: undefined, error: expect.stringMatching(/not a valid number/) as unknown },
      { row: 4, ok: true, action: 'created', error: undefined },
      { row: 5, ok: false, action: undefined, error: 'unknown station ld-nowhere' },
      { row: 6, ok: false, action: undefined, error: 'same phone as row 2' },
    ]);
    const list = FarmerSchema.array().parse((await app.inject({ method: 'GET', url: '/api/farmers', headers: admin })).json());
    expect(list.find((f) => f.name === 'Trần, Thị B')).toMatchObject({ language: 'en', diacritics: false, phone: '+84933111223' });
  });

  it('updates farmers already registered when the corrected sheet comes back, as JSON {csv}', async () => {
    const fixed = 'name,phone,station_ids\nNguyễn Văn Hà,+84912345678,ld-lat-01\nUnknown Station,0933 111 224,ld-lat-01\n';
    const response = await app.inject({ method: 'POST', url: '/api/farmers/import', headers: admin, payload: { csv: fixed } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ created: 1, updated: 1, failed: 0 });
    const list = FarmerSchema.array().parse((await app.inject({ method: 'GET', url: '/api/farmers', headers: admin })).json());
    expect(list.find((f) => f.phone === '+84912345678')).toMatchObject({
      commune: null,
      subscriptions: [{ stationId: 'ld-lat-01', offsetC: 0 }],
    });
  });

  it('refuses a file whose header it cannot read, and non-admins', async () => {
    expectError(
      await app.inject({
        method: 'POST',
        url: '/api/farmers/import',
        headers: admin,
        payload: { csv: 'ten,so_dien_thoai\nA,0912345678\n' },
      }),
      400,
      /unknown column "ten"/,
    );
    expectError(
      await app.inject({ method: 'POST', url: '/api/farmers/import', headers: { ...viewer, 'content-type': 'text/csv' }, payload: csv }),
      403,
      /admin/,
    );
  });
});

describe('communes and officers API', () => {
  it('sets a commune representative station and lists it', async () => {
    const put = await app.inject({
      method: 'PUT',
      url: `/api/communes/${encodeURIComponent('Đạ Sar')}/station`,
      headers: admin,
      payload: { stationId: 'ld-dasar-01', offsetC: -0.5 },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({ commune: 'Đạ Sar', stationId: 'ld-dasar-01', offsetC: -0.5 });
    expectError(
      await app.inject({ method: 'PUT', url: '/api/communes/L%C3%A1t/station', headers: admin, payload: { stationId: 'ld-nowhere' } }),
      400,
      /unknown station/,
    );
    expect((await app.inject({ method: 'GET', url: '/api/communes', headers: viewer })).json()).toEqual([
      { commune: 'Đạ Sar', stationId: 'ld-dasar-01', offsetC: -0.5 },
    ]);
  });

  it('registers officers and lists them', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/officers',
      headers: admin,
      payload: { name: 'Chị Lan', phone: '0988 111 222' },
    });
    expect(created.statusCode).toBe(201);
    expect(OfficerSchema.strict().parse(created.json())).toMatchObject({ name: 'Chị Lan', phone: '+84988111222', language: 'vi' });
    expectError(
      await app.inject({ method: 'POST', url: '/api/officers', headers: admin, payload: { name: 'Again', phone: '+84988111222' } }),
      409,
      /already registered/,
    );
    const list = await app.inject({ method: 'GET', url: '/api/officers', headers: viewer });
    expect(list.json()).toEqual([expect.objectContaining({ name: 'Chị Lan', phone: '+8498•••1222' })]);
  });
});

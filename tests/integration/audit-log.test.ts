import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEntry, AuditPageSchema, type Clock } from '../../contracts/index.js';
import { type FullApp, stationBody, startFullApp } from '../helpers/full-app.js';

/**
 * The audit log of people's actions (issue 6): every state-changing action through the API — and a farmer's keypress —
 * is recorded with who, what, which target, when and from where; nothing secret, no whole phone number; a refused
 * action is not recorded as done; only an admin reads it.
 */
const NOW = Date.UTC(2026, 0, 15, 22, 0, 0);
const clock: Clock = { now: () => NOW, speed: 1 };
let fx: FullApp;

beforeAll(async () => {
  fx = await startFullApp({ clock });
  await fx.stations.create(stationBody('ld-audit-01'));
}, 120_000);

afterAll(async () => {
  // Also runs when beforeAll failed part-way, before this was assigned.
  await (fx as FullApp | undefined)?.close();
});

async function auditEntries(query = ''): Promise<AuditEntry[]> {
  const res = await fx.app.inject({ method: 'GET', url: `/api/audit${query}`, headers: fx.headers['admin-token'] });
  expect(res.statusCode, res.body).toBe(200);
  return AuditPageSchema.parse(res.json()).entries;
}

async function lastOf(action: string): Promise<AuditEntry> {
  const [entry] = await auditEntries(`?action=${encodeURIComponent(action)}&limit=1`);
  if (!entry) throw new Error(`no audit entry for ${action}`);
  return entry;
}

describe('audit log', () => {
  it('records sign-ins, refused and successful, without keeping what was typed for an unknown user', async () => {
    // startFullApp signed three users in.
    const signIns = await auditEntries('?action=session.signin');
    expect(signIns.map((e) => [e.actor, e.outcome])).toEqual(
      expect.arrayContaining([
        ['admin-user', 'ok'],
        ['officer-user', 'ok'],
        ['viewer-user', 'ok'],
      ]),
    );
    await fx.app.inject({ method: 'POST', url: '/api/session', payload: { username: 'officer-user', password: 'wrong-password-1' } });
    await fx.app.inject({ method: 'POST', url: '/api/session', payload: { username: 'hunter2-my-password', password: 'x' } });
    const [unknown, known] = await auditEntries('?action=session.signin&limit=2');
    expect(known).toMatchObject({ actor: 'officer-user', outcome: 'failed', statusCode: 401, remoteAddr: '127.0.0.1' });
    expect(unknown).toMatchObject({ actor: '(unknown username)', outcome: 'failed', statusCode: 401 });
    expect(JSON.stringify(await auditEntries())).not.toContain('hunter2');
  });

  it('records station creation and token rotation by the admin token, never the token itself', async () => {
    const created = await fx.app.inject({
      method: 'POST',
      url: '/api/stations',
      headers: fx.headers['admin-token'],
      payload: stationBody('ld-audit-02'),
    });
    expect(created.statusCode).toBe(201);
    const rotated = await fx.app.inject({ method: 'POST', url: '/api/stations/ld-audit-02/token', headers: fx.headers.admin });
    expect(rotated.statusCode).toBe(200);
    const create = await lastOf('station.create');
    expect(create).toMatchObject({
      actorKind: 'token',
      actor: 'admin-token',
      target: 'ld-audit-02',
      outcome: 'ok',
      statusCode: 201,
      details: { commune: 'Lát' },
    });
    expect(Date.parse(create.at)).toBe(NOW);
    expect(await lastOf('station.token.rotate')).toMatchObject({ actorKind: 'user', actor: 'admin-user', target: 'ld-audit-02' });
    expect((await fx.app.inject({ method: 'DELETE', url: '/api/stations/ld-audit-02/token', headers: fx.headers.admin })).statusCode).toBe(
      204,
    );
    expect(await lastOf('station.token.revoke')).toMatchObject({ actor: 'admin-user', target: 'ld-audit-02', statusCode: 204 });
    const all = JSON.stringify(await auditEntries());
    expect(all).not.toContain(created.json<{ token: string }>().token);
    expect(all).not.toContain(rotated.json<{ token: string }>().token);
  });

  it('records people changes by an officer with phones masked', async () => {
    const farmer = await fx.app.inject({
      method: 'POST',
      url: '/api/farmers',
      headers: fx.headers.officer,
      payload: { name: 'Nguyễn Văn Hà', phone: '0912 345 678', stationIds: ['ld-audit-01'] },
    });
    expect(farmer.statusCode, farmer.body).toBe(201);
    const id = String(farmer.json<{ id: number }>().id);
    expect(await lastOf('farmer.create')).toMatchObject({ actor: 'officer-user', target: id, details: { phone: '+8491•••5678' } });
    const officer = await fx.app.inject({
      method: 'POST',
      url: '/api/officers',
      headers: fx.headers.officer,
      payload: { name: 'Cán bộ', phone: '0904 555 666' },
    });
    expect(officer.statusCode).toBe(201);
    expect(await lastOf('officer.create')).toMatchObject({ details: { phone: '+8490•••5666' } });
    const csv = 'name,phone,station_ids\nA,0912 000 111,ld-audit-01\nB,not-a-phone,ld-audit-01\n';
    const imported = await fx.app.inject({
      method: 'POST',
      url: '/api/farmers/import',
      headers: { ...fx.headers.officer, 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(imported.statusCode).toBe(200);
    expect(await lastOf('farmer.import')).toMatchObject({ actor: 'officer-user', details: { created: 1, updated: 0, failed: 1 } });
    const commune = await fx.app.inject({
      method: 'PUT',
      url: `/api/communes/${encodeURIComponent('Đạ Sar')}/station`,
      headers: fx.headers.officer,
      payload: { stationId: 'ld-audit-01' },
    });
    expect(commune.statusCode).toBe(200);
    expect(await lastOf('commune.station.set')).toMatchObject({ target: 'Đạ Sar', details: { stationId: 'ld-audit-01', offsetC: 0 } });
    expect((await fx.app.inject({ method: 'DELETE', url: `/api/farmers/${id}`, headers: fx.headers.officer })).statusCode).toBe(204);
    expect(await lastOf('farmer.delete')).toMatchObject({ actor: 'officer-user', target: id, statusCode: 204 });
    const all = JSON.stringify(await auditEntries());
    for (const full of ['912345678', '904555666', '912000111']) expect(all).not.toContain(full);
  });

  it('records rules, users and acknowledgements from the dashboard and by keypress', async () => {
    expect(
      (
        await fx.app.inject({
          method: 'PUT',
          url: '/api/stations/ld-audit-01/rules',
          headers: fx.headers.admin,
          payload: { leafOffsetC: 4 },
        })
      ).statusCode,
    ).toBe(200);
    expect(await lastOf('station.rules.set')).toMatchObject({ target: 'ld-audit-01', details: { overrides: { leafOffsetC: 4 } } });
    const user = await fx.app.inject({
      method: 'POST',
      url: '/api/users',
      headers: fx.headers.admin,
      payload: { username: 'new-viewer', name: 'V', role: 'viewer', password: 'a-secret-password-9' },
    });
    expect(user.statusCode).toBe(201);
    expect(await lastOf('user.create')).toMatchObject({ actor: 'admin-user', target: 'new-viewer', details: { role: 'viewer' } });
    expect(JSON.stringify(await auditEntries())).not.toContain('a-secret-password-9');

    const alertId = fx.openAlert('ld-audit-01', 'forecast minimum −1 °C', NOW);
    expect((await fx.app.inject({ method: 'POST', url: `/api/alerts/${alertId}/ack`, headers: fx.headers.officer })).statusCode).toBe(200);
    expect(await lastOf('alert.ack')).toMatchObject({ actor: 'officer-user', target: String(alertId), outcome: 'ok' });

    const [row] = fx.warnings.notifier.enqueue([
      {
        dedupeKey: 'audit-call',
        eventId: null,
        recipientKind: 'farmer',
        recipientId: 1,
        channel: 'voice',
        phone: '+84912345678',
        language: 'vi',
        body: 'Sương muối',
        encoding: 'UCS-2',
        segments: 1,
        costUsd: 0,
      },
    ]);
    if (!row) throw new Error('no outbox row');
    const other = fx.twilioRequest(`/voice/${row.id}/keypress`, { Digits: '7' });
    expect((await fx.app.inject({ method: 'POST', ...other })).statusCode).toBe(200);
    expect(await auditEntries('?action=alert.ack.keypress')).toEqual([]);
    const one = fx.twilioRequest(`/voice/${row.id}/keypress`, { Digits: '1' });
    expect((await fx.app.inject({ method: 'POST', ...one })).statusCode).toBe(200);
    expect(await lastOf('alert.ack.keypress')).toMatchObject({
      actorKind: 'twilio',
      actor: 'twilio keypress',
      target: String(row.id),
      details: { phone: '+8491•••5678', escalationStep: 0 },
    });
  });

  it('does not record a refused action as done', async () => {
    const before = (await auditEntries('?limit=1'))[0]?.id;
    const refused = [
      await fx.app.inject({ method: 'POST', url: '/api/stations', headers: fx.headers.viewer, payload: stationBody('ld-audit-03') }), // 403
      await fx.app.inject({ method: 'POST', url: '/api/stations', headers: fx.headers.admin, payload: stationBody('ld-audit-01') }), // 409
      await fx.app.inject({ method: 'POST', url: '/api/stations', headers: fx.headers.admin, payload: { id: 'BAD ID' } }), // 400
      await fx.app.inject({ method: 'DELETE', url: '/api/farmers/999999', headers: fx.headers.officer }), // 404
      await fx.app.inject({ method: 'POST', url: '/api/alerts/999999/ack', headers: fx.headers.officer }), // 404
      await fx.app.inject({ method: 'POST', url: '/api/stations/ld-audit-01/token' }), // 401
      await fx.app.inject({ method: 'POST', ...fx.twilioRequest('/voice/1/keypress', { Digits: '1' }, false) }), // 403 unsigned
    ];
    expect(refused.map((r) => r.statusCode)).toEqual([403, 409, 400, 404, 404, 401, 403]);
    expect((await auditEntries('?limit=1'))[0]?.id).toBe(before);
  });

  it('pages newest first and is readable by admins only', async () => {
    const first = AuditPageSchema.parse(
      (await fx.app.inject({ method: 'GET', url: '/api/audit?limit=3', headers: fx.headers.admin })).json(),
    );
    expect(first.entries).toHaveLength(3);
    expect(first.nextBefore).toBe(first.entries[2]?.id);
    const second = AuditPageSchema.parse(
      (await fx.app.inject({ method: 'GET', url: `/api/audit?limit=3&before=${first.nextBefore}`, headers: fx.headers.admin })).json(),
    );
    expect(second.entries[0]!.id).toBeLessThan(first.entries[2]!.id);
    const everything = await auditEntries('?limit=500');
    expect(everything.map((e) => e.id)).toEqual([...everything.map((e) => e.id)].sort((a, b) => b - a));
    // A LIKE wildcard typed by the caller matches literally, not everything.
    expect(await auditEntries('?action=%25')).toEqual([]);
    expect((await fx.app.inject({ method: 'GET', url: '/api/audit', headers: fx.headers.officer })).statusCode).toBe(403);
    expect((await fx.app.inject({ method: 'GET', url: '/api/audit', headers: fx.headers.viewer })).statusCode).toBe(403);
    expect((await fx.app.inject({ method: 'GET', url: '/api/audit' })).statusCode).toBe(401);
  });

  it('declares an audit action, or a reason not to, for every route that changes something', () => {
    const writes = registeredWrites();
    const undeclared = writes.filter((w) => !w.audited && !NOT_AUDITED.has(w.route));
    expect(undeclared).toEqual([]);
    expect(writes.filter((w) => w.audited).length).toBeGreaterThanOrEqual(14);
  });
});

/**
 * Writes that are not a person's action (Twilio's delivery reports and the call script it fetches), and the farmer's
 * choices, which FarmerChoices records itself whichever way they came (farmer-choices.test.ts checks those entries).
 */
const NOT_AUDITED = new Set([
  'POST /api/twilio/status',
  'POST /api/twilio/voice/:rowId',
  'POST /api/twilio/sms',
  'POST /api/twilio/voice/:rowId/choice',
  'POST /api/twilio/voice/:rowId/stop',
  'PUT /api/farmers/:id/opt-out',
]);

function registeredWrites(): { route: string; audited: boolean }[] {
  return [...fx.routes.entries()]
    .filter(([route]) => !/^(GET|HEAD|OPTIONS) /.test(route))
    .map(([route, options]) => ({ route, audited: options.config?.audit !== undefined }));
}

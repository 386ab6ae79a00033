import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEntry, AuditPageSchema, type Clock, FarmerSchema, SurveySchema } from '../../contracts/index.js';
import { emptyInputs } from '../../frost/inputs.js';
import type { OutboxRow } from '../../server/notify/outbox.js';
import { OutboxRepository } from '../../server/notify/outbox.js';
import { parseQuietHours } from '../../server/notify/quiet-hours.js';
import { OutboxPlanner } from '../../server/warnings/planner.js';
import { type FullApp, stationBody, startFullApp } from '../helpers/full-app.js';

/**
 * Farmers in control (issue 16): STOP / START / EN / VI / HELP by SMS through Twilio's signed inbound webhook (a forged
 * one refused with 403), the same by keypress at the end of a call, the officer's opt-out on the farmer's page, the
 * confirmation each gets, the audit log officers read, the morning survey keypress, and quiet hours that hold the
 * all-clear but never a Severe.
 */
const T0 = Date.UTC(2026, 11, 20, 8, 0, 0); // 15:00 in Lạc Dương
let now = T0;
const clock: Clock = { now: () => now, speed: 1 };
let fx: FullApp;
let outbox: OutboxRepository;
const HA = '+84912345678';
let ha: number;
let smith: number;

beforeAll(async () => {
  fx = await startFullApp({ clock, quietHours: '21:00-06:00' });
  await fx.stations.create(stationBody('ld-choice-01', { name: 'Đạ Sar 01', commune: 'Đạ Sar' }));
  const created = async (body: Record<string, unknown>): Promise<number> => {
    const res = await fx.app.inject({ method: 'POST', url: '/api/farmers', headers: fx.headers.officer, payload: body });
    expect(res.statusCode, res.body).toBe(201);
    return FarmerSchema.parse(res.json()).id;
  };
  ha = await created({
    name: 'Nguyễn Văn Hà',
    phone: '0912 345 678',
    stationIds: ['ld-choice-01'],
    contacts: [{ role: 'household', name: 'Chị Lan', phone: '0987 654 321' }],
  });
  smith = await created({ name: 'John Smith', phone: '0913 000 111', language: 'en', diacritics: false, stationIds: ['ld-choice-01'] });
  outbox = new OutboxRepository(fx.db, clock);
}, 120_000);

afterAll(async () => {
  await (fx as FullApp | undefined)?.close();
});

function inbound(from: string, body: string, sign = true) {
  return fx.app.inject({
    method: 'POST',
    ...fx.twilioRequest(
      '/sms',
      { MessageSid: `SM${Math.random().toString(16).slice(2)}`, From: from, To: '+15005550006', Body: body },
      sign,
    ),
  });
}

function rowsOf(farmerId: number, purpose?: string): OutboxRow[] {
  return outbox
    .recent(500)
    .filter((r) => r.recipientKind === 'farmer' && r.recipientId === farmerId && (purpose === undefined || r.purpose === purpose));
}

async function farmer(id: number) {
  const res = await fx.app.inject({ method: 'GET', url: `/api/farmers/${id}`, headers: fx.headers.officer });
  return FarmerSchema.parse(res.json());
}

async function audit(action: string): Promise<AuditEntry[]> {
  const res = await fx.app.inject({ method: 'GET', url: `/api/audit?action=${action}`, headers: fx.headers.admin });
  return AuditPageSchema.parse(res.json()).entries;
}

/** A frost decision for the station, planned as the engine plans it (the planner under test, with quiet hours). */
function plan(to: 'watch' | 'warning' | 'severe' | 'all_clear', from: 'none' | 'watch' | 'warning' | 'severe'): void {
  const applied = fx.warnings.alerts.apply(
    { kind: 'frost', stationId: 'ld-choice-01', from, to, atMs: now, reason: 'test', notify: true, inputs: emptyInputs(now, 1.2) },
    now,
  );
  if (!applied) throw new Error('decision not applied');
  const station = fx.stations.get('ld-choice-01');
  if (!station) throw new Error('no station');
  const planner = new OutboxPlanner(
    fx.warnings.people,
    outbox,
    { timeZone: 'Asia/Ho_Chi_Minh' },
    {
      hours: parseQuietHours('21:00-06:00', 'Asia/Ho_Chi_Minh'),
      now: () => now,
    },
  );
  planner.plan(applied, station);
}

describe('inbound SMS (Twilio messaging webhook, signed)', () => {
  it('refuses a forged or unsigned reply with 403 and changes nothing', async () => {
    const forged = await fx.app.inject({
      method: 'POST',
      ...fx.twilioRequest('/sms', { From: HA, Body: 'STOP' }, false),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'bm90LWEtc2lnbmF0dXJl' },
    });
    expect(forged.statusCode).toBe(403);
    expect(forged.body).not.toContain('From');
    expect((await inbound(HA, 'STOP', false)).statusCode).toBe(403);
    expect((await farmer(ha)).optedOutAt).toBeNull();
    expect(rowsOf(ha, 'reply')).toEqual([]);
  });

  it('STOP (or DỪNG) stops every warning, suppresses what was queued, confirms once and is audited', async () => {
    // A warning queued for later (backoff): an opt-out must keep it from going out.
    outbox.enqueue([
      {
        dedupeKey: 'test:queued-for-ha',
        eventId: null,
        recipientKind: 'farmer',
        recipientId: ha,
        channel: 'sms',
        phone: HA,
        language: 'vi',
        body: 'queued',
        encoding: 'UCS-2',
        segments: 1,
        costUsd: 0,
        notBeforeMs: now + 3_600_000,
      },
    ]);
    const res = await inbound(HA, '  Dừng! ');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/xml/);
    expect(res.body).toMatch(/<Response\s*\/>|<Response><\/Response>/);
    const after = await farmer(ha);
    expect(after.optedOutAt).toBe(new Date(now).toISOString());
    expect(after.optedOutVia).toBe('sms');
    expect(outbox.recent(500).find((r) => r.dedupeKey === 'test:queued-for-ha')).toMatchObject({ status: 'suppressed' });
    const [reply] = rowsOf(ha, 'reply');
    expect(reply?.body).toBe('frostwatch: Bạn đã ngừng nhận cảnh báo sương muối. Muốn nhận lại, báo cán bộ xã.');
    expect(reply?.phone).toBe(HA);
    const [entry] = await audit('farmer.opt_out');
    expect(entry).toMatchObject({ actorKind: 'twilio', target: String(ha), outcome: 'ok' });
    expect(JSON.stringify(entry)).not.toContain(HA);
  });

  it('an opted-out farmer is not among the recipients of the next warning; the other farmer is', () => {
    now += 60_000;
    plan('watch', 'none');
    const fresh = (id: number) => rowsOf(id, 'warning').filter((r) => r.createdAt === now);
    expect(fresh(ha)).toEqual([]);
    expect(fresh(smith).map((r) => r.channel)).toEqual(['sms']);
  });

  it("START brings the warnings back, confirmed in the farmer's language; EN switches it; an unknown word gets the help", async () => {
    now += 60_000;
    expect((await inbound(HA, 'tiep')).statusCode).toBe(200);
    expect((await farmer(ha)).optedOutAt).toBeNull();
    now += 1_000;
    await inbound(HA, 'EN');
    expect((await farmer(ha)).language).toBe('en');
    now += 1_000;
    await inbound(HA, 'what is this?');
    const replies = rowsOf(ha, 'reply').map((r) => r.body);
    expect(replies).toContain('frostwatch: Bạn sẽ nhận lại cảnh báo sương muối. Ngừng: báo cán bộ xã.');
    expect(replies).toContain('frostwatch: Messages will be in English.');
    expect(replies).toContain('frostwatch: Frost warnings for coffee farms. To stop or change language, tell your commune officer.');
    await inbound(HA, 'VI');
    expect((await farmer(ha)).language).toBe('vi');
    expect((await audit('farmer.opt_in'))[0]).toMatchObject({ target: String(ha) });
  });

  it('a number that is no farmer gets an empty answer and nothing else', async () => {
    const before = outbox.recent(500).length;
    const res = await inbound('+84999999999', 'STOP');
    expect(res.statusCode).toBe(200);
    expect(outbox.recent(500).length).toBe(before);
  });
});

describe('the officer on the farmer page', () => {
  it('stops and resumes a farmer who cannot reply by SMS; viewers may not; officers see the list', async () => {
    now += 60_000;
    const viewer = await fx.app.inject({
      method: 'PUT',
      url: `/api/farmers/${smith}/opt-out`,
      headers: fx.headers.viewer,
      payload: { optedOut: true },
    });
    expect(viewer.statusCode).toBe(403);
    const stop = await fx.app.inject({
      method: 'PUT',
      url: `/api/farmers/${smith}/opt-out`,
      headers: fx.headers.officer,
      payload: { optedOut: true },
    });
    expect(stop.statusCode, stop.body).toBe(200);
    expect(FarmerSchema.parse(stop.json())).toMatchObject({ optedOutVia: 'officer', optedOutAt: new Date(now).toISOString() });
    expect(rowsOf(smith, 'reply').map((r) => r.body)).toContain(
      'frostwatch: You will no longer get frost warnings. To get them again, tell your officer.',
    );
    const list = await fx.app.inject({ method: 'GET', url: '/api/opt-outs', headers: fx.headers.viewer });
    expect(list.statusCode).toBe(200);
    const [latest] = list.json<{ farmerId: number; optedOut: boolean; via: string; actor: string; farmerName: string }[]>();
    expect(latest).toMatchObject({ farmerId: smith, optedOut: true, via: 'officer', actor: 'officer-user', farmerName: 'John Smith' });
    const missing = await fx.app.inject({
      method: 'PUT',
      url: '/api/farmers/999999/opt-out',
      headers: fx.headers.officer,
      payload: { optedOut: true },
    });
    expect(missing.statusCode).toBe(404);
    const resume = await fx.app.inject({
      method: 'PUT',
      url: `/api/farmers/${smith}/opt-out`,
      headers: fx.headers.officer,
      payload: { optedOut: false },
    });
    expect(FarmerSchema.parse(resume.json()).optedOutAt).toBeNull();
  });
});

describe('keypress at the end of a call', () => {
  function voiceRow(recipientKind: 'farmer' | 'contact', purpose: 'warning' | 'survey', key: string): OutboxRow {
    const [row] = outbox.enqueue([
      {
        dedupeKey: key,
        eventId: null,
        recipientKind,
        recipientId: ha,
        channel: 'voice',
        phone: recipientKind === 'farmer' ? HA : '+84987654321',
        language: 'vi',
        body: purpose === 'survey' ? 'Đây là frostwatch. Bấm 1 nếu không bị hại.' : 'KHẨN CẤP. Bấm phím 1 để xác nhận.',
        encoding: 'voice',
        segments: 0,
        costUsd: 0,
        purpose,
        notBeforeMs: now + 86_400_000, // never dialled by the dry-run notifier during the test
      },
    ]);
    if (!row) throw new Error('row not created');
    return row;
  }
  const post = (path: string, params: Record<string, string>) => fx.app.inject({ method: 'POST', ...fx.twilioRequest(path, params) });

  it('after pressing 1 the farmer hears the menu; 9 then 9 again stops the warnings', async () => {
    now += 60_000;
    const row = voiceRow('farmer', 'warning', 'test:call-ha');
    const ack = await post(`/voice/${row.id}/keypress`, { Digits: '1' });
    expect(ack.body).toContain('Cảm ơn. Đã xác nhận cảnh báo.');
    expect(ack.body).toContain(`/api/twilio/voice/${row.id}/choice`);
    expect(ack.body).toContain('Bấm 9 để ngừng nhận cảnh báo.');
    const nine = await post(`/voice/${row.id}/choice`, { Digits: '9' });
    expect(nine.body).toContain('Bấm 9 lần nữa để xác nhận.');
    expect((await farmer(ha)).optedOutAt).toBeNull(); // one key is not enough
    const confirmed = await post(`/voice/${row.id}/stop`, { Digits: '9' });
    expect(confirmed.body).toContain('Đã ngừng nhận cảnh báo.');
    expect(await farmer(ha)).toMatchObject({ optedOutVia: 'keypress' });
    expect((await audit('farmer.opt_out'))[0]).toMatchObject({ actor: 'twilio keypress', target: String(ha) });
    await fx.app.inject({ method: 'PUT', url: `/api/farmers/${ha}/opt-out`, headers: fx.headers.officer, payload: { optedOut: false } });
  });

  it('2 switches the language, said in the new one; a contact of the chain gets no menu and cannot stop the farmer', async () => {
    const row = voiceRow('farmer', 'warning', 'test:call-ha-2');
    const two = await post(`/voice/${row.id}/choice`, { Digits: '2' });
    expect(two.body).toContain('From now on, messages will be in English.');
    expect(two.body).toContain('language="en-US"');
    expect((await farmer(ha)).language).toBe('en');
    await inbound(HA, 'VI');
    const contact = voiceRow('contact', 'warning', 'test:call-lan');
    const ack = await post(`/voice/${contact.id}/keypress`, { Digits: '1' });
    expect(ack.body).not.toContain('/choice');
    expect((await post(`/voice/${contact.id}/choice`, { Digits: '9' })).body).toContain('<Hangup/>');
    expect((await post(`/voice/${contact.id}/stop`, { Digits: '9' })).body).toContain('<Hangup/>');
    expect((await farmer(ha)).optedOutAt).toBeNull();
  });

  it('the morning survey call records the key as a survey of the farm, once', async () => {
    await fx.app.inject({ method: 'PUT', url: `/api/farmers/${ha}/opt-out`, headers: fx.headers.officer, payload: { optedOut: false } });
    const db = fx.db;
    db.prepare('UPDATE farmers SET commune = ? WHERE id = ?').run('Đạ Sar', ha);
    const row = voiceRow('farmer', 'survey', `survey:2026-12-19:farmer:${ha}`);
    const script = await post(`/voice/${row.id}`, {});
    expect(script.body).toContain(`/api/twilio/voice/${row.id}/survey`);
    const answer = await post(`/voice/${row.id}/survey`, { Digits: '3' });
    expect(answer.body).toContain('Cảm ơn. Đã ghi nhận.');
    await post(`/voice/${row.id}/survey`, { Digits: '1' }); // a second key changes nothing
    const res = await fx.app.inject({ method: 'GET', url: '/api/surveys?from=2026-12-19&to=2026-12-19', headers: fx.headers.viewer });
    const surveys = SurveySchema.array().parse(res.json());
    expect(surveys).toHaveLength(1);
    expect(surveys[0]).toMatchObject({ commune: 'Đạ Sar', farmerId: ha, damage: 'young_trees_lost', source: 'keypress' });
    expect(outbox.get(row.id)?.answer).toBe('young_trees_lost');
    const [entry] = await audit('survey.keypress');
    expect(entry).toMatchObject({ actorKind: 'twilio', actor: 'twilio keypress', details: { damage: 'young_trees_lost' } });
    expect(JSON.stringify(entry)).not.toContain(HA);
  });
});

describe('quiet hours', () => {
  it('hold the all-clear at 03:00 until 06:00; a Severe an hour later goes at once and replaces it', () => {
    now = Date.UTC(2026, 11, 20, 20, 0, 0); // 03:00 local
    plan('all_clear', 'watch');
    const [held] = rowsOf(smith, 'all_clear').length > 0 ? rowsOf(smith, 'all_clear') : rowsOf(ha, 'all_clear');
    expect(held).toMatchObject({ heldQuiet: true, status: 'pending', nextAttemptAt: Date.UTC(2026, 11, 20, 23, 0, 0) });
    now += 3_600_000; // 04:00
    plan('severe', 'none');
    const severe = rowsOf(held!.recipientId, 'warning').filter((r) => r.createdAt === now);
    expect(severe.map((r) => r.channel).sort()).toEqual(['sms', 'voice']);
    expect(outbox.get(held!.id)).toMatchObject({ status: 'suppressed', lastError: 'superseded by a newer warning' });
    // Nothing held stands in front of the Severe SMS in its phone's queue.
    const due = outbox.nextDue(now, 'sms');
    expect(due === undefined || due.purpose !== 'all_clear').toBe(true);
    expect(severe.every((r) => r.nextAttemptAt <= now && !r.heldQuiet)).toBe(true);
  });
});

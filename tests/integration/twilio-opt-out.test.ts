import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditPageSchema, type Clock, FarmerSchema } from '../../contracts/index.js';
import { OutboxRepository } from '../../server/notify/outbox.js';
import { TwilioTestServer } from '../../testkit/twilio-server.js';
import { type FullApp, stationBody, startFullApp } from '../helpers/full-app.js';
import { eventually } from '../helpers/mqtt.js';

/**
 * A farmer who replied STOP to Twilio's own opt-out (a long code's built-in keywords, or a messaging service that
 * handles them without telling frostwatch): Twilio refuses the next SMS with error 21610. frostwatch marks the farmer
 * as stopped so nothing more is composed for a number that cannot receive it, records who said so, and sends no
 * confirmation Twilio would refuse too. The real `twilio` package against the Twilio-compatible server.
 */
const clock: Clock = { now: () => Date.now(), speed: 1 };
let twilio: TwilioTestServer;
let fx: FullApp;
let farmerId: number;
const PHONE = '+84912345678';

beforeAll(async () => {
  twilio = await TwilioTestServer.start();
  fx = await startFullApp({ clock, twilio });
  await fx.stations.create(stationBody('ld-twilio-stop-01'));
  const res = await fx.app.inject({
    method: 'POST',
    url: '/api/farmers',
    headers: fx.headers.officer,
    payload: { name: 'Nguyễn Văn Hà', phone: '0912 345 678', stationIds: ['ld-twilio-stop-01'] },
  });
  farmerId = FarmerSchema.parse(res.json()).id;
}, 120_000);

afterAll(async () => {
  await (fx as FullApp | undefined)?.close();
  await (twilio as TwilioTestServer | undefined)?.close();
});

describe("Twilio's own opt-out (error 21610)", () => {
  it('an SMS Twilio refuses with 21610 marks the farmer stopped, audited, with nothing else sent', async () => {
    twilio.optOut(PHONE);
    // The farmer asks for English (the webhook sees it); the confirmation is what Twilio refuses.
    const reply = await fx.app.inject({ method: 'POST', ...fx.twilioRequest('/sms', { From: PHONE, To: '+15005550006', Body: 'EN' }) });
    expect(reply.statusCode).toBe(200);
    const outbox = new OutboxRepository(fx.db, clock);
    await eventually(() => {
      const [row] = outbox.recent(10).filter((r) => r.recipientId === farmerId && r.purpose === 'reply');
      expect(row).toMatchObject({ status: 'failed', lastError: expect.stringContaining('Twilio 21610') as unknown });
    }, 20_000);
    const farmer = FarmerSchema.parse(
      (await fx.app.inject({ method: 'GET', url: `/api/farmers/${farmerId}`, headers: fx.headers.officer })).json(),
    );
    expect(farmer).toMatchObject({ optedOutVia: 'sms', language: 'en' });
    expect(farmer.optedOutAt).not.toBeNull();
    const audit = AuditPageSchema.parse(
      (await fx.app.inject({ method: 'GET', url: '/api/audit?action=farmer.opt_out', headers: fx.headers.admin })).json(),
    );
    expect(audit.entries[0]).toMatchObject({ actorKind: 'twilio', actor: 'twilio opt-out', target: String(farmerId) });
    expect(JSON.stringify(audit.entries[0])).not.toContain(PHONE);
    // No confirmation of the stop was attempted: Twilio would refuse it, and sends its own.
    expect(twilio.requests.filter((r) => r.to === PHONE)).toHaveLength(1);
  });
});

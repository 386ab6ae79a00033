import formbody from '@fastify/formbody';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import twilio from 'twilio';
import { z } from 'zod';
import { type AuditSpec, isRecord } from '../audit/audit-hook.js';
import { sendError } from '../http-errors.js';
import { maskPhone } from '../registry/phone.js';
import type { Language, OutboxRow } from '../notify/outbox.js';
import type { Notifier, ProviderStatus } from '../notify/sender.js';
import { CALL_MENU, CALL_SAY, parseChoice, SURVEY_KEYS } from '../../frost/messages.js';
import type { PeopleRepository } from '../registry/people.js';
import type { StationRepository } from '../registry/stations.js';
import type { SurveyStore } from '../surveys/store.js';
import type { FarmerChoices } from '../warnings/farmer-choices.js';

export interface TwilioRouteDeps {
  notifier: Pick<Notifier, 'applyStatus' | 'acknowledge'> & { outbox: Pick<Notifier['outbox'], 'get' | 'recordAnswer'> };
  /** Verifies X-Twilio-Signature. Null (dry run): every callback is refused, nothing could have signed it. */
  authToken: string | null;
  /** The base URL Twilio was given; signatures are computed over PUBLIC_URL + path + query. */
  publicUrl: string;
  /** Farmers by phone, for replies; their choices (stop, start, language, help); the survey keypress. Absent: no such routes. */
  people?: Pick<PeopleRepository, 'farmerByPhone' | 'getFarmer'>;
  choices?: Pick<FarmerChoices, 'apply'>;
  surveys?: Pick<SurveyStore, 'record'>;
  /** A farmer subscribed to stations has their commune from the first station. */
  stations?: Pick<StationRepository, 'get'>;
  /** SMS_REPLIES=on: the number takes replies (only changes what the calls say about stopping). */
  smsReplies?: boolean;
}

// Twilio posts many more fields (AccountSid, From, To, ApiVersion…); only these matter here.
const StatusCallbackSchema = z.looseObject({
  MessageSid: z.string().min(1).optional(),
  MessageStatus: z.string().min(1).optional(),
  CallSid: z.string().min(1).optional(),
  CallStatus: z.string().min(1).optional(),
  ErrorCode: z.string().optional(),
});
const VoiceParamsSchema = z.object({ rowId: z.coerce.number().int().positive() });
const KeypressSchema = z.looseObject({ Digits: z.string().optional() });
// An inbound SMS (Twilio's messaging webhook); every other field it posts is signed over but not used.
const InboundSmsSchema = z.looseObject({ From: z.string().min(1).max(32), Body: z.string().max(1_600).default('') });

/** Twilio message statuses → outbox statuses; the ones in between (queued, sending…) mean "sent". */
const MESSAGE_STATUS: Record<string, ProviderStatus> = {
  accepted: 'sent',
  scheduled: 'sent',
  queued: 'sent',
  sending: 'sent',
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
  canceled: 'failed',
};
/** Call statuses: answered → delivered; not answered → undelivered; could not be placed → failed. */
const CALL_STATUS: Record<string, ProviderStatus> = {
  queued: 'sent',
  initiated: 'sent',
  ringing: 'sent',
  'in-progress': 'sent',
  completed: 'delivered',
  busy: 'undelivered',
  'no-answer': 'undelivered',
  canceled: 'undelivered',
  failed: 'failed',
};

const SPEECH: Record<Language, { voice: 'vi-VN' | 'en-US'; prompt: string; noInput: string; thanks: string }> = {
  vi: {
    voice: 'vi-VN',
    prompt: 'Bấm phím 1 để xác nhận.',
    noInput: 'Không nhận được xác nhận. Xin cảm ơn.',
    thanks: 'Cảm ơn. Đã xác nhận cảnh báo.',
  },
  en: {
    voice: 'en-US',
    prompt: 'Press 1 to confirm.',
    noInput: 'No confirmation received. Goodbye.',
    thanks: 'Thank you. The warning is confirmed.',
  },
};

/** `/api/twilio/…`: status callbacks, the call script (TwiML) and its keypress. Every request must be signed by Twilio. */
export function twilioRoutes(deps: TwilioRouteDeps): FastifyPluginAsyncZod {
  const { notifier, authToken } = deps;
  const publicUrl = deps.publicUrl.replace(/\/+$/, '');
  /** Someone pressed 1 on a known call: the alert is acknowledged by voice. Target: the call's outbox row. */
  const keypressAudit: AuditSpec = {
    action: 'alert.ack.keypress',
    when: (request) =>
      isRecord(request.body) &&
      request.body['Digits'] === '1' &&
      voiceRow(Number((request.params as { rowId?: unknown }).rowId)) !== undefined,
    actor: () => ({ kind: 'twilio', name: 'twilio keypress' }),
    details: ({ request }) => {
      const row = voiceRow(Number((request.params as { rowId?: unknown }).rowId));
      return row === undefined ? null : { phone: maskPhone(row.phone), escalationStep: row.escalationStep };
    },
  };
  return async (app) => {
    if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) await app.register(formbody);
    // Before validation, so a forged request learns nothing about what a valid body looks like.
    app.addHook('preValidation', async (request, reply) => {
      if (!isSignedByTwilio(request, authToken, publicUrl)) {
        request.log.warn({ url: request.url.split('?')[0] }, 'twilio callback refused: bad or missing signature');
        return sendError(reply, 403, 'invalid Twilio signature');
      }
    });

    app.post('/status', { schema: { hide: true, body: StatusCallbackSchema } }, async (request, reply) => {
      const { MessageSid, MessageStatus, CallSid, CallStatus, ErrorCode } = request.body;
      const update =
        MessageSid !== undefined && MessageStatus !== undefined
          ? { sid: MessageSid, status: MESSAGE_STATUS[MessageStatus] }
          : CallSid !== undefined && CallStatus !== undefined
            ? { sid: CallSid, status: CALL_STATUS[CallStatus] }
            : null;
      if (update === null || update.status === undefined)
        return sendError(reply, 400, 'body: expected MessageSid+MessageStatus or CallSid+CallStatus with a known status');
      const error = ErrorCode ? `Twilio error ${ErrorCode} (${MessageStatus ?? CallStatus})` : null;
      notifier.applyStatus(update.sid, update.status, error);
      return reply.code(204).send();
    });

    app.post('/voice/:rowId', { schema: { hide: true, params: VoiceParamsSchema } }, async (request, reply) => {
      const row = voiceRow(request.params.rowId);
      if (row === undefined) return twiml(reply, hangUp());
      if (row.purpose === 'survey') return twiml(reply, surveyScript(row, voiceUrl(row, 'survey')));
      return twiml(reply, callScript(row, voiceUrl(row, 'keypress')));
    });

    app.post(
      '/voice/:rowId/keypress',
      { config: { audit: keypressAudit }, schema: { hide: true, params: VoiceParamsSchema, body: KeypressSchema } },
      async (request, reply) => {
        const row = voiceRow(request.params.rowId);
        if (row === undefined) return twiml(reply, hangUp());
        const speech = SPEECH[row.language];
        // 9 straight away: a farmer who wants no more calls need not confirm this one first.
        if (request.body.Digits === '9' && choicesFor(row)) return twiml(reply, confirmStop(row));
        if (request.body.Digits !== '1') {
          const response = new twilio.twiml.VoiceResponse();
          response.redirect({ method: 'POST' }, voiceUrl(row));
          return twiml(reply, response);
        }
        notifier.acknowledge(row.id);
        const response = new twilio.twiml.VoiceResponse();
        response.say({ language: speech.voice }, speech.thanks);
        return twiml(reply, withMenu(response, row));
      },
    );

    // The requests whose key was recorded (the first answer of a call): only those are audited.
    const answered = new WeakSet<FastifyRequest>();
    const surveyAudit: AuditSpec = {
      action: 'survey.keypress',
      when: (request) => answered.has(request),
      actor: () => ({ kind: 'twilio', name: 'twilio keypress' }),
      details: ({ request }) => {
        const row = voiceRow(Number((request.params as { rowId?: unknown }).rowId));
        return row === undefined || !isRecord(request.body)
          ? null
          : { phone: maskPhone(row.phone), damage: SURVEY_KEYS[String(request.body['Digits'])] ?? null };
      },
    };
    app.post(
      '/voice/:rowId/survey',
      { config: { audit: surveyAudit }, schema: { hide: true, params: VoiceParamsSchema, body: KeypressSchema } },
      async (request, reply) => {
        const row = voiceRow(request.params.rowId);
        if (row === undefined || row.purpose !== 'survey') return twiml(reply, hangUp());
        const damage = SURVEY_KEYS[request.body.Digits ?? ''];
        if (damage === undefined) {
          const response = new twilio.twiml.VoiceResponse();
          response.redirect({ method: 'POST' }, voiceUrl(row));
          return twiml(reply, response);
        }
        if (recordSurveyAnswer(row, damage, request.log)) answered.add(request);
        const response = new twilio.twiml.VoiceResponse();
        response.say({ language: SPEECH[row.language].voice }, CALL_SAY[row.language].surveyThanks);
        return twiml(reply, withMenu(response, row));
      },
    );

    app.post(
      '/voice/:rowId/choice',
      { schema: { hide: true, params: VoiceParamsSchema, body: KeypressSchema } },
      async (request, reply) => {
        const row = voiceRow(request.params.rowId);
        const farmerId = row === undefined ? null : choicesFor(row);
        if (row === undefined || farmerId === null) return twiml(reply, hangUp());
        const response = new twilio.twiml.VoiceResponse();
        switch (request.body.Digits) {
          case '9':
            return twiml(reply, confirmStop(row));
          case '2': {
            const to = row.language === 'vi' ? 'en' : 'vi';
            deps.choices?.apply(farmerId, to, 'keypress', { kind: 'twilio', name: 'twilio keypress', remoteAddr: request.ip });
            // Said in the language just chosen, by that language's voice.
            response.say({ language: SPEECH[to].voice }, CALL_SAY[row.language].language);
            break;
          }
          case '0':
            response.say({ language: SPEECH[row.language].voice }, CALL_SAY[row.language].help);
            break;
          default:
            response.say({ language: SPEECH[row.language].voice }, CALL_SAY[row.language].goodbye);
        }
        response.hangup();
        return twiml(reply, response);
      },
    );

    app.post('/voice/:rowId/stop', { schema: { hide: true, params: VoiceParamsSchema, body: KeypressSchema } }, async (request, reply) => {
      const row = voiceRow(request.params.rowId);
      const farmerId = row === undefined ? null : choicesFor(row);
      if (row === undefined || farmerId === null) return twiml(reply, hangUp());
      const response = new twilio.twiml.VoiceResponse();
      const voice = { language: SPEECH[row.language].voice };
      if (request.body.Digits === '9') {
        deps.choices?.apply(farmerId, 'stop', 'keypress', { kind: 'twilio', name: 'twilio keypress', remoteAddr: request.ip });
        response.say(voice, CALL_SAY[row.language].stopped);
      } else response.say(voice, CALL_SAY[row.language].goodbye);
      response.hangup();
      return twiml(reply, response);
    });

    app.post('/sms', { schema: { hide: true, body: InboundSmsSchema } }, async (request, reply) => {
      const farmer = deps.people?.farmerByPhone(request.body.From.trim()) ?? null;
      const empty = new twilio.twiml.MessagingResponse();
      if (!farmer || !deps.choices) {
        // A stranger, or a number not (or no longer) registered: nothing to change, nothing to answer.
        request.log.info({ from: maskPhone(request.body.From) }, 'inbound SMS from an unknown number ignored');
        return twiml(reply, empty);
      }
      // Anything but a known word is answered with the help text: the farmer learns the words that work.
      const choice = parseChoice(request.body.Body) ?? 'help';
      deps.choices.apply(farmer.id, choice, 'sms', { kind: 'twilio', name: 'twilio sms', remoteAddr: request.ip });
      // The confirmation goes through the outbox (paced, recorded, shown with the farmer's deliveries), not in this answer.
      return twiml(reply, empty);
    });
  };

  function voiceUrl(row: OutboxRow, step?: string): string {
    return `${publicUrl}/api/twilio/voice/${row.id}${step ? `/${step}` : ''}`;
  }

  /** The farmer a call's choices act for: only the farmer's own call, never a contact of their escalation chain. */
  function choicesFor(row: OutboxRow): number | null {
    return row.recipientKind === 'farmer' && deps.choices ? row.recipientId : null;
  }

  /** After the call's purpose is done: the menu (stop, language, help) for the farmer's own calls, then goodbye. */
  function withMenu(response: InstanceType<typeof twilio.twiml.VoiceResponse>, row: OutboxRow) {
    if (choicesFor(row) === null) {
      response.hangup();
      return response;
    }
    const voice = { language: SPEECH[row.language].voice };
    const gather = response.gather({ numDigits: 1, action: voiceUrl(row, 'choice'), method: 'POST', timeout: 5 });
    gather.say(voice, CALL_MENU[row.language]);
    response.say(voice, CALL_SAY[row.language].goodbye);
    response.hangup();
    return response;
  }

  function confirmStop(row: OutboxRow) {
    const response = new twilio.twiml.VoiceResponse();
    const voice = { language: SPEECH[row.language].voice };
    const gather = response.gather({ numDigits: 1, action: voiceUrl(row, 'stop'), method: 'POST', timeout: 8 });
    gather.say(voice, CALL_SAY[row.language].confirmStop);
    response.say(voice, CALL_SAY[row.language].goodbye);
    response.hangup();
    return response;
  }

  /** The survey call's key becomes a survey of the farm, for the night its key names, in the farmer's commune. */
  function recordSurveyAnswer(row: OutboxRow, damage: (typeof SURVEY_KEYS)[string], log: FastifyRequest['log']): boolean {
    if (!notifier.outbox.recordAnswer(row.id, damage)) return false; // answered already: the first key counts
    const night = /^survey:(\d{4}-\d{2}-\d{2}):/.exec(row.dedupeKey)?.[1];
    const farmer = deps.people?.getFarmer(row.recipientId) ?? null;
    if (!night || !farmer || !deps.surveys) return false;
    const first = farmer.subscriptions[0]?.stationId;
    const commune = farmer.commune ?? (first === undefined ? null : (deps.stations?.get(first)?.commune ?? null));
    deps.surveys.record(
      { night, commune: commune ?? '(không rõ xã)', farmerId: farmer.id, damage },
      'keypress',
      `keypress ${maskPhone(row.phone)}`,
    );
    log.info({ outboxId: row.id, night, damage }, 'survey answered by keypress');
    return true;
  }

  function voiceRow(id: number): OutboxRow | undefined {
    const row = notifier.outbox.get(id);
    return row?.channel === 'voice' ? row : undefined;
  }
}

/** The call: the message and the prompt, said twice, waiting for one key; a goodbye if none comes. */
export function callScript(
  row: Pick<OutboxRow, 'body' | 'language'>,
  keypressUrl: string,
): InstanceType<typeof twilio.twiml.VoiceResponse> {
  const speech = SPEECH[row.language];
  const body = row.body.normalize('NFC').trim();
  // Scripts composed by frost/messages-voice.ts already end with the prompt; say it once, not twice.
  const text = body.endsWith(speech.prompt) ? body : `${body} ${speech.prompt}`;
  const response = new twilio.twiml.VoiceResponse();
  const gather = response.gather({ numDigits: 1, action: keypressUrl, method: 'POST', timeout: 10 });
  gather.say({ language: speech.voice }, text);
  gather.pause({ length: 1 });
  gather.say({ language: speech.voice }, text);
  response.say({ language: speech.voice }, speech.noInput);
  return response;
}

function hangUp(): InstanceType<typeof twilio.twiml.VoiceResponse> {
  const response = new twilio.twiml.VoiceResponse();
  response.hangup();
  return response;
}

/** The morning survey: the question said twice, one key; a goodbye if none comes. */
function surveyScript(row: Pick<OutboxRow, 'body' | 'language'>, actionUrl: string): InstanceType<typeof twilio.twiml.VoiceResponse> {
  const voice = { language: SPEECH[row.language].voice };
  const response = new twilio.twiml.VoiceResponse();
  const gather = response.gather({ numDigits: 1, action: actionUrl, method: 'POST', timeout: 10 });
  gather.say(voice, row.body);
  gather.pause({ length: 1 });
  gather.say(voice, row.body);
  response.say(voice, CALL_SAY[row.language].goodbye);
  return response;
}

function twiml(
  reply: FastifyReply,
  response: InstanceType<typeof twilio.twiml.VoiceResponse> | InstanceType<typeof twilio.twiml.MessagingResponse>,
): FastifyReply {
  return reply.type('text/xml; charset=utf-8').send(response.toString());
}

/** Twilio signs PUBLIC_URL + the path and query it requested, plus every POST field. */
function isSignedByTwilio(request: FastifyRequest, authToken: string | null, publicUrl: string): boolean {
  const signature = request.headers['x-twilio-signature'];
  if (authToken === null || typeof signature !== 'string' || signature === '') return false;
  const params = isFormObject(request.body) ? request.body : {};
  return twilio.validateRequest(authToken, signature, publicUrl + request.url, params);
}

function isFormObject(body: unknown): body is Record<string, string | string[]> {
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}

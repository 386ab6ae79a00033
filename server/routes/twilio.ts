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

export interface TwilioRouteDeps {
  notifier: Pick<Notifier, 'applyStatus' | 'acknowledge'> & { outbox: Pick<Notifier['outbox'], 'get'> };
  /** Verifies X-Twilio-Signature. Null (dry run): every callback is refused, nothing could have signed it. */
  authToken: string | null;
  /** The base URL Twilio was given; signatures are computed over PUBLIC_URL + path + query. */
  publicUrl: string;
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
      return twiml(reply, callScript(row, `${publicUrl}/api/twilio/voice/${row.id}/keypress`));
    });

    app.post(
      '/voice/:rowId/keypress',
      { config: { audit: keypressAudit }, schema: { hide: true, params: VoiceParamsSchema, body: KeypressSchema } },
      async (request, reply) => {
        const row = voiceRow(request.params.rowId);
        if (row === undefined) return twiml(reply, hangUp());
        const speech = SPEECH[row.language];
        if (request.body.Digits !== '1') {
          const response = new twilio.twiml.VoiceResponse();
          response.redirect({ method: 'POST' }, `${publicUrl}/api/twilio/voice/${row.id}`);
          return twiml(reply, response);
        }
        notifier.acknowledge(row.id);
        const response = new twilio.twiml.VoiceResponse();
        response.say({ language: speech.voice }, speech.thanks);
        response.hangup();
        return twiml(reply, response);
      },
    );
  };

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

function twiml(reply: FastifyReply, response: InstanceType<typeof twilio.twiml.VoiceResponse>): FastifyReply {
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

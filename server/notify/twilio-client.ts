import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type * as TwilioResponse from 'twilio/lib/http/response.js';
import type { OutboxRow } from './outbox.js';

/** Everything needed to talk to Twilio (or a Twilio-compatible provider, or the tests' server). */
export interface TwilioConfig {
  accountSid: string;
  authToken: string;
  /** Sender number or registered sender ID. Voice needs it; SMS may use `messagingServiceSid` instead. */
  from?: string;
  messagingServiceSid?: string;
  /** Base URL replacing `https://api.twilio.com` (and other `*.twilio.com` hosts); default the real one. */
  apiUrl?: string;
  /** Base URL Twilio calls back (status callbacks, TwiML). */
  publicUrl: string;
  /** Per-request timeout; a timeout is retried like a 5xx. */
  timeoutMs?: number;
}

/**
 * `twilioCode`: Twilio's own error code when it refused the request (21610: the recipient replied STOP to Twilio).
 * `unsure`: the request may have reached Twilio and been carried out — it timed out or the connection dropped after
 * it was sent — so before it is sent again, Twilio's list is asked (`findSent`).
 */
export type SendFailure = { ok: false; retryable: boolean; error: string; twilioCode?: number; unsure?: boolean };
export type SendOutcome = { ok: true; sid: string; status: string } | SendFailure;

/** What Twilio's list holds that could be an earlier attempt of a row, oldest first; or why it could not be asked. */
export type Lookup = { ok: true; found: { sid: string; status: string }[] } | { ok: false; error: string };

/** What the notifier asks of Twilio. A thrown error means a bug, not a provider refusal. */
export interface TwilioSender {
  sendSms(row: OutboxRow): Promise<SendOutcome>;
  placeCall(row: OutboxRow): Promise<SendOutcome>;
  /**
   * Messages (by To, DateSent and body) or calls (by To, From and creation time) Twilio has from `sinceWallMs` on
   * that may be `row` sent by an attempt whose answer never reached us.
   */
  findSent(row: OutboxRow, sinceWallMs: number): Promise<Lookup>;
}

/** Twilio's clock and ours may differ a little: the lookup starts this much before the attempt. */
const LOOKUP_SKEW_MS = 120_000;

export const DEFAULT_TWILIO_API_URL = 'https://api.twilio.com';
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** The subset of the environment this module reads; `ServerEnv`/`UpEnv` fit it. */
export interface TwilioEnv {
  TWILIO_ACCOUNT_SID?: string | undefined;
  TWILIO_AUTH_TOKEN?: string | undefined;
  TWILIO_FROM?: string | undefined;
  TWILIO_MESSAGING_SERVICE_SID?: string | undefined;
  TWILIO_API_URL?: string | undefined;
  PUBLIC_URL?: string | undefined;
}

/**
 * The Twilio configuration, or null for a dry run (docs/operations.md: no credentials → compose, keep, send
 * nothing). Without PUBLIC_URL nothing could call us back, which is a configuration error, not a dry run.
 */
export function twilioConfigFromEnv(env: TwilioEnv, fallbackPublicUrl: string): TwilioConfig | null {
  const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken } = env;
  if (accountSid === undefined || authToken === undefined) return null;
  if (env.TWILIO_FROM === undefined && env.TWILIO_MESSAGING_SERVICE_SID === undefined) {
    throw new Error('TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID is required with TWILIO_ACCOUNT_SID');
  }
  return {
    accountSid,
    authToken,
    ...(env.TWILIO_FROM === undefined ? {} : { from: env.TWILIO_FROM }),
    ...(env.TWILIO_MESSAGING_SERVICE_SID === undefined ? {} : { messagingServiceSid: env.TWILIO_MESSAGING_SERVICE_SID }),
    apiUrl: env.TWILIO_API_URL ?? DEFAULT_TWILIO_API_URL,
    publicUrl: env.PUBLIC_URL ?? fallbackPublicUrl,
  };
}

/** Matches the origin of every Twilio host the package calls (api., messaging., voice., regional ones). */
const TWILIO_ORIGIN = /^https:\/\/(?:[a-z0-9-]+\.)*twilio\.com(?::443)?(?=\/|$)/i;

/** The package's own HTTP client, with Twilio's origin swapped for `baseUrl` (path prefix kept). */
export class RewritingRequestClient extends twilio.RequestClient {
  readonly #base: string;

  constructor(baseUrl: string, options: { timeout?: number } = {}) {
    // autoRetry off: retries belong to the outbox, where they are durable and rate-limited.
    super({ ...options, autoRetry: false, keepAlive: true });
    this.#base = baseUrl.replace(/\/+$/, '');
  }

  rewrite(uri: string): string {
    return uri.replace(TWILIO_ORIGIN, this.#base);
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<TwilioResponse.default<TData>> {
    return super.request({ ...opts, uri: this.rewrite(opts.uri) });
  }
}

export function createTwilioSender(config: TwilioConfig): TwilioSender {
  const timeout = config.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const httpClient = new RewritingRequestClient(config.apiUrl ?? DEFAULT_TWILIO_API_URL, { timeout });
  const client = twilio(config.accountSid, config.authToken, { httpClient });
  const publicUrl = config.publicUrl.replace(/\/+$/, '');
  const statusCallback = `${publicUrl}/api/twilio/status`;
  const sender =
    config.messagingServiceSid !== undefined ? { messagingServiceSid: config.messagingServiceSid } : { from: config.from ?? '' };

  return {
    async sendSms(row) {
      try {
        const message = await client.messages.create({ to: row.phone, body: row.body, statusCallback, ...sender });
        return { ok: true, sid: message.sid, status: message.status };
      } catch (error) {
        return classifyTwilioError(error);
      }
    },
    async placeCall(row) {
      if (config.from === undefined)
        return { ok: false, retryable: false, error: 'voice needs TWILIO_FROM (a messaging service cannot call)' };
      try {
        const call = await client.calls.create({
          to: row.phone,
          from: config.from,
          url: `${publicUrl}/api/twilio/voice/${row.id}`,
          statusCallback,
        });
        return { ok: true, sid: call.sid, status: call.status };
      } catch (error) {
        return classifyTwilioError(error);
      }
    },
    async findSent(row, sinceWallMs) {
      const since = new Date(sinceWallMs - LOOKUP_SKEW_MS);
      try {
        if (row.channel === 'sms') {
          // DateSent> filters on the send time Twilio stamps once a message leaves its queue; the notifier's pacing
          // keeps that queue seconds long, and a lookup happens no sooner than a retry's backoff later.
          const messages = await client.messages.list({ to: row.phone, dateSentAfter: since, limit: 100 });
          const found = messages
            .filter((m) => m.body === row.body && m.direction.startsWith('outbound'))
            .sort((a, b) => a.dateCreated.getTime() - b.dateCreated.getTime())
            .map((m) => ({ sid: m.sid, status: m.status }));
          return { ok: true, found };
        }
        // Calls carry no text: one to the same number from our number, created since the attempt, is taken for it
        // unless another row already owns its sid (the worker checks that).
        const calls = await client.calls.list({ to: row.phone, limit: 50 });
        const found = calls
          .filter((c) => c.dateCreated.getTime() >= since.getTime() && (config.from === undefined || c.from === config.from))
          .sort((a, b) => a.dateCreated.getTime() - b.dateCreated.getTime())
          .map((c) => ({ sid: c.sid, status: c.status }));
        return { ok: true, found };
      } catch (error) {
        const failure = classifyTwilioError(error);
        return { ok: false, error: failure.error };
      }
    },
  };
}

/** Only these 4xx may succeed later; every other 4xx is the request's own fault and will not. */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);
/** Network failures after which the request may still have been carried out: the answer, not the request, was lost. */
const UNSURE_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'ERR_NETWORK']);
/** Network failures worth another try: the provider may be back soon. */
const RETRYABLE_CODES = new Set([
  'ECONNABORTED',
  'ETIMEDOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_NETWORK',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/** Turn what the twilio package throws into an outcome: HTTP status (RestException) or a network error (axios). */
export function classifyTwilioError(error: unknown): SendFailure {
  if (!(error instanceof Error)) return { ok: false, retryable: true, error: `unexpected: ${String(error)}`, unsure: true };
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number') {
    const code = (error as { code?: unknown }).code;
    const text = `HTTP ${status}${typeof code === 'number' ? ` (Twilio ${code})` : ''}: ${error.message}`;
    return {
      ok: false,
      retryable: status >= 500 || RETRYABLE_4XX.has(status),
      error: text,
      ...(typeof code === 'number' ? { twilioCode: code } : {}),
    };
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string')
    return {
      ok: false,
      retryable: RETRYABLE_CODES.has(code),
      error: `${code}: ${error.message}`,
      ...(UNSURE_CODES.has(code) ? { unsure: true } : {}),
    };
  throw error;
}

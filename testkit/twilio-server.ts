import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import twilio from 'twilio';
import { systemClock } from '../contracts/index.js';
import { type Draw, drawFor } from '../firmware-sim/random.js';
import { registerErrorHandlers } from '../server/http-errors.js';
import { findFreePort } from '../server/influx/free-port.js';
import type { OutboxInsert } from '../server/notify/outbox.js';
import { createNotifier, type Notifier, type NotifierOptions } from '../server/notify/sender.js';
import { createTwilioSender } from '../server/notify/twilio-client.js';
import { openDatabase, type Db } from '../server/registry/db.js';
import { twilioRoutes } from '../server/routes/twilio.js';

/**
 * The project's only stand-in: a Twilio-compatible REST server on 127.0.0.1 that the real `twilio`
 * package talks to (through TWILIO_API_URL), and that calls back like Twilio does — signed.
 */

/** 'hang': never answered, nothing created. 'accept-late': the message IS created, the answer comes after `holdMs`. */
export type Fault = 429 | 400 | 500 | 503 | 'hang' | 'accept-late';

export interface RandomFaults {
  seed: number;
  /** Share of requests that get a fault, 0…1. */
  rate: number;
  /** Picked uniformly for each faulty request. */
  faults: readonly Fault[];
  /** How long 'accept-late' holds its answer; longer than the client's timeout. */
  holdMs?: number;
}

export interface RecordedRequest {
  kind: 'message' | 'call';
  /** performance.now() when the request arrived: compare entries with each other, not with the wall clock. */
  atMs: number;
  to: string | undefined;
  from: string | undefined;
  messagingServiceSid: string | undefined;
  body: string | undefined;
  /** Calls: where to fetch TwiML. */
  url: string | undefined;
  statusCallback: string | undefined;
  /** The HTTP status answered, or 'hang' (never answered). */
  answer: number | 'hang';
  /** Set when answered 201. */
  sid: string | undefined;
  /** 'accept-late': created, but answered only after the client had given up. */
  late?: boolean;
  /** Wall-clock time Twilio created it (Date.now()): its date_created and, for messages, date_sent. */
  createdAtWall?: number;
}

/** A GET of the Messages or Calls list: what a client asked Twilio for. */
export interface ListRequest {
  kind: 'message' | 'call';
  /** The query's filters as sent, e.g. { To: '+84…', 'DateSent>': '2026-12-20T21:00:00Z', PageSize: '100' }. */
  query: Record<string, string>;
  /** How many resources were answered. */
  returned: number;
}

export interface CallbackResult {
  status: number;
  text: string;
}

export interface SignOptions {
  /** 'valid' (default), 'none' (no header), or a literal header value. */
  signature?: string;
  /** Sign this URL instead of the one posted to (a signature for another URL). */
  signedUrl?: string;
  /** Sign with another auth token. */
  authToken?: string;
}

export const TEST_ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const TEST_AUTH_TOKEN = 'test-auth-token-fedcba9876543210';

export class TwilioTestServer {
  readonly accountSid: string;
  readonly authToken: string;
  readonly requests: RecordedRequest[] = [];
  /** Every list (GET) of Messages or Calls, in order. */
  readonly lists: ListRequest[] = [];
  /** Called as Twilio accepts a request; its answer is written once this settles: lets a test act in that window. */
  onAccept: ((request: RecordedRequest) => void | Promise<void>) | null = null;
  /**
   * Chooses the fault of one request by what it carries (e.g. which sender's status callback it names), before the
   * queued, windowed and random faults; undefined leaves the request to those.
   */
  faultFor: ((request: Pick<RecordedRequest, 'kind' | 'to' | 'from' | 'body' | 'statusCallback'>) => Fault | undefined) | null = null;
  #server: Server | null = null;
  #port = 0;
  #faults: Fault[] = [];
  #listFaults = 0;
  readonly #unsubscribed = new Set<string>();
  #window: { untilMs: number; fault: Fault } | null = null;
  #random: { draw: Draw; options: RandomFaults } | null = null;
  readonly #lateAnswers = new Set<NodeJS.Timeout>();

  private constructor(accountSid: string, authToken: string) {
    this.accountSid = accountSid;
    this.authToken = authToken;
  }

  static async start(options: { accountSid?: string; authToken?: string } = {}): Promise<TwilioTestServer> {
    const server = new TwilioTestServer(options.accountSid ?? TEST_ACCOUNT_SID, options.authToken ?? TEST_AUTH_TOKEN);
    await server.#listen();
    return server;
  }

  /** Base URL to give as TWILIO_API_URL. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** The next `count` Messages/Calls requests get `fault` (after the faults already queued). */
  failNext(count: number, fault: Fault): void {
    for (let i = 0; i < count; i += 1) this.#faults.push(fault);
  }

  /** The next `count` list requests (GET Messages/Calls) get a 500: Twilio's API failing while asked. */
  failNextLists(count: number): void {
    this.#listFaults += count;
  }

  /**
   * The phone replied STOP to Twilio itself (its built-in opt-out on long codes): from now on Twilio refuses every
   * message to it with 400 and error 21610, "Attempt to send to unsubscribed recipient".
   */
  optOut(phone: string): void {
    this.#unsubscribed.add(phone);
  }

  /** Every request in the next `ms` milliseconds gets `fault`. */
  failFor(ms: number, fault: Fault): void {
    this.#window = { untilMs: performance.now() + ms, fault };
  }

  /** From now on, a seeded random share of requests gets one of `faults` (after queued faults and a window). */
  failRandomly(options: RandomFaults): void {
    this.#random = { draw: drawFor('twilio-faults', options.seed), options };
  }

  /** Requests that created a message or call (answered 201). */
  created(kind?: RecordedRequest['kind']): RecordedRequest[] {
    return this.requests.filter((r) => r.answer === 201 && (kind === undefined || r.kind === kind));
  }

  bySid(sid: string): RecordedRequest | undefined {
    return this.requests.find((r) => r.sid === sid);
  }

  /** POST form `params` to `url` signed as Twilio signs (HMAC-SHA1 of URL + sorted params, base64). */
  async signedPost(url: string, params: Record<string, string>, options: SignOptions = {}): Promise<CallbackResult> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const signature = options.signature ?? 'valid';
    if (signature === 'valid') {
      headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(
        options.authToken ?? this.authToken,
        options.signedUrl ?? url,
        params,
      );
    } else if (signature !== 'none') {
      headers['x-twilio-signature'] = signature;
    }
    const response = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
    return { status: response.status, text: await response.text() };
  }

  /** Message status callbacks in Twilio's order, e.g. ['sent', 'delivered']. */
  async messageStatus(sid: string, statuses: string[], options: SignOptions = {}): Promise<CallbackResult[]> {
    const request = this.#mustFind(sid);
    const results: CallbackResult[] = [];
    for (const status of statuses) {
      const params = { ...this.#common(request), MessageSid: sid, SmsSid: sid, MessageStatus: status, SmsStatus: status };
      results.push(await this.signedPost(mustUrl(request.statusCallback, 'statusCallback'), params, options));
    }
    return results;
  }

  /** `queued → sent → delivered` for every message created so far that has a status callback. */
  async deliverAll(): Promise<void> {
    for (const request of this.created('message')) {
      if (request.sid !== undefined && request.statusCallback !== undefined) await this.messageStatus(request.sid, ['sent', 'delivered']);
    }
  }

  /** A call's final status callback (completed, no-answer, busy, failed). */
  async callStatus(sid: string, status: string, options: SignOptions = {}): Promise<CallbackResult> {
    const request = this.#mustFind(sid);
    const params = { ...this.#common(request), CallSid: sid, CallStatus: status, Direction: 'outbound-api' };
    return this.signedPost(mustUrl(request.statusCallback, 'statusCallback'), params, options);
  }

  /**
   * Play a call as Twilio would: fetch its TwiML, press `digits` (if any) at the Gather's action URL — a list presses
   * one key per Gather, following each answer's next Gather (a menu) — then report the call completed. Returns the
   * first TwiML document and the answer to the last key.
   */
  async answerCall(
    sid: string,
    digits: string | readonly string[] | null | ((twiml: string) => string | readonly string[] | null),
  ): Promise<{ twiml: CallbackResult; keypress: CallbackResult | null; answers: CallbackResult[] }> {
    const request = this.#mustFind(sid);
    const params = { ...this.#common(request), CallSid: sid, CallStatus: 'in-progress', Direction: 'outbound-api' };
    const twiml = await this.signedPost(mustUrl(request.url, 'url'), params);
    const answers: CallbackResult[] = [];
    let document = twiml;
    // A function hears the call first (what it says), then chooses the keys: a person answering a menu.
    const keys = typeof digits === 'function' ? digits(twiml.text) : digits;
    for (const key of keys === null ? [] : typeof keys === 'string' ? [keys] : keys) {
      const action = /<Gather[^>]*\saction="([^"]+)"/.exec(document.text)?.[1];
      document = await this.signedPost(unescapeXml(mustUrl(action, 'Gather action')), { ...params, Digits: key });
      answers.push(document);
    }
    await this.callStatus(sid, 'completed');
    return { twiml, keypress: answers[answers.length - 1] ?? null, answers };
  }

  /**
   * A farmer's SMS to the frostwatch number, delivered to the messaging webhook `url` as Twilio does: a signed form
   * POST with MessageSid, AccountSid, From, To, Body, NumMedia and the geographic fields.
   */
  async inboundSms(url: string, from: string, body: string, options: SignOptions & { to?: string } = {}): Promise<CallbackResult> {
    const sid = `SM${randomHex(32)}`;
    const params = {
      ToCountry: 'VN',
      SmsMessageSid: sid,
      NumMedia: '0',
      SmsSid: sid,
      SmsStatus: 'received',
      Body: body,
      To: options.to ?? '+15005550006',
      NumSegments: '1',
      MessageSid: sid,
      AccountSid: this.accountSid,
      From: from,
      FromCountry: 'VN',
      ApiVersion: '2010-04-01',
    };
    return this.signedPost(url, params, options);
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (server === null) return;
    this.#server = null;
    // Hung requests would keep close() waiting forever.
    for (const timer of this.#lateAnswers) clearTimeout(timer);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #common(request: RecordedRequest): Record<string, string> {
    return { AccountSid: this.accountSid, ApiVersion: '2010-04-01', To: request.to ?? '', From: request.from ?? '' };
  }

  #mustFind(sid: string): RecordedRequest {
    const request = this.bySid(sid);
    if (request === undefined) throw new Error(`no message or call ${sid}`);
    return request;
  }

  async #listen(): Promise<void> {
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const atMs = performance.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|Calls)\.json$/.exec((req.url ?? '').split('?')[0] ?? '');
    if (req.method === 'GET' && match !== null) {
      if (!this.#authorized(req) || match[1] !== this.accountSid) {
        json(res, 401, { code: 20003, message: 'Authenticate', status: 401 });
        return;
      }
      if (this.#listFaults > 0) {
        this.#listFaults -= 1;
        json(res, 500, { code: 20500, message: 'injected 500', status: 500 });
        return;
      }
      this.#list(match[2] === 'Messages' ? 'message' : 'call', new URL(req.url ?? '/', 'http://x').searchParams, res);
      return;
    }
    if (req.method !== 'POST' || match === null) {
      json(res, 404, { code: 20404, message: 'The requested resource was not found', status: 404 });
      return;
    }
    if (!this.#authorized(req) || match[1] !== this.accountSid) {
      json(res, 401, { code: 20003, message: 'Authenticate', status: 401 });
      return;
    }
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const kind = match[2] === 'Messages' ? 'message' : 'call';
    const fault =
      this.faultFor?.({
        kind,
        to: form.get('To') ?? undefined,
        from: form.get('From') ?? undefined,
        body: form.get('Body') ?? undefined,
        statusCallback: form.get('StatusCallback') ?? undefined,
      }) ?? this.#takeFault();
    const record: RecordedRequest = {
      kind,
      atMs,
      to: form.get('To') ?? undefined,
      from: form.get('From') ?? undefined,
      messagingServiceSid: form.get('MessagingServiceSid') ?? undefined,
      body: form.get('Body') ?? undefined,
      url: form.get('Url') ?? undefined,
      statusCallback: form.get('StatusCallback') ?? undefined,
      answer: fault === undefined || fault === 'accept-late' ? 201 : fault,
      sid: undefined,
    };
    if (fault === undefined && kind === 'message' && record.to !== undefined && this.#unsubscribed.has(record.to)) {
      record.answer = 400;
      this.requests.push(record);
      json(res, 400, { code: 21610, message: 'Attempt to send to unsubscribed recipient', status: 400 });
      return;
    }
    this.requests.push(record);
    if (fault === 'hang') return;
    if (fault === 'accept-late') {
      this.#answerLate(record, res);
      return;
    }
    if (fault !== undefined) {
      json(res, fault, { code: fault === 400 ? 21211 : fault === 429 ? 20429 : 20500, message: `injected ${fault}`, status: fault });
      return;
    }
    record.sid = `${kind === 'message' ? 'SM' : 'CA'}${randomBytes(16).toString('hex')}`;
    record.createdAtWall = Date.now();
    await this.onAccept?.(record);
    json(res, 201, this.#resource(record));
  }

  #authorized(req: IncomingMessage): boolean {
    const expected = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
    return req.headers.authorization === expected;
  }

  #takeFault(): Fault | undefined {
    const queued = this.#faults.shift();
    if (queued !== undefined) return queued;
    if (this.#window !== null && performance.now() < this.#window.untilMs) return this.#window.fault;
    if (this.#random !== null && this.#random.draw.chance(this.#random.options.rate))
      return this.#random.draw.pick(this.#random.options.faults);
    return undefined;
  }

  /** Twilio took the message but its answer arrives after the client's timeout. */
  #answerLate(record: RecordedRequest, res: ServerResponse): void {
    record.sid = `${record.kind === 'message' ? 'SM' : 'CA'}${randomBytes(16).toString('hex')}`;
    record.createdAtWall = Date.now();
    record.late = true;
    const timer = setTimeout(() => {
      this.#lateAnswers.delete(timer);
      if (!res.destroyed) json(res, 201, this.#resource(record));
    }, this.#random?.options.holdMs ?? 10_000);
    this.#lateAnswers.add(timer);
  }

  /**
   * Twilio's list of Messages or Calls, newest first, filtered as the real API filters: To, From, and for messages
   * DateSent (a day), DateSent> and DateSent< (from and until a time; Twilio treats both as inclusive); one page of
   * PageSize (default 50).
   */
  #list(kind: 'message' | 'call', query: URLSearchParams, res: ServerResponse): void {
    const q = Object.fromEntries(query.entries());
    const at = (value: string | undefined): number | undefined => (value === undefined ? undefined : Date.parse(value));
    const after = at(q['DateSent>']);
    const before = at(q['DateSent<']);
    const day = q['DateSent'];
    const pageSize = Math.min(1_000, Number(q['PageSize'] ?? 50) || 50);
    const matching = this.created(kind)
      .flatMap((r) => (r.createdAtWall === undefined ? [] : [{ r, at: r.createdAtWall }]))
      .filter(({ r }) => q['To'] === undefined || r.to === q['To'])
      .filter(({ r }) => q['From'] === undefined || r.from === q['From'])
      .filter(({ at }) => after === undefined || at >= after)
      .filter(({ at }) => before === undefined || at <= before)
      .filter(({ at }) => day === undefined || new Date(at).toISOString().startsWith(day.slice(0, 10)))
      .sort((a, b) => b.at - a.at)
      .slice(0, pageSize)
      .map(({ r }) => r);
    this.lists.push({ kind, query: q, returned: matching.length });
    const key = kind === 'message' ? 'messages' : 'calls';
    const uri = `/2010-04-01/Accounts/${this.accountSid}/${kind === 'message' ? 'Messages' : 'Calls'}.json`;
    json(res, 200, {
      [key]: matching.map((r) => this.#resource(r)),
      end: Math.max(0, matching.length - 1),
      first_page_uri: `${uri}?PageSize=${pageSize}&Page=0`,
      next_page_uri: null,
      page: 0,
      page_size: pageSize,
      previous_page_uri: null,
      start: 0,
      uri: `${uri}?PageSize=${pageSize}&Page=0`,
    });
  }

  #resource(record: RecordedRequest): Record<string, unknown> {
    const now = new Date(record.createdAtWall ?? Date.now()).toUTCString();
    return {
      sid: record.sid,
      account_sid: this.accountSid,
      api_version: '2010-04-01',
      to: record.to,
      from: record.from ?? null,
      messaging_service_sid: record.messagingServiceSid ?? null,
      body: record.body ?? null,
      status: 'queued',
      num_segments: '1',
      direction: 'outbound-api',
      date_created: now,
      date_updated: now,
      date_sent: record.kind === 'message' ? now : null,
      start_time: null,
      uri: `/2010-04-01/Accounts/${this.accountSid}/${record.kind === 'message' ? 'Messages' : 'Calls'}/${record.sid}.json`,
    };
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function mustUrl(url: string | undefined, what: string): string {
  if (url === undefined) throw new Error(`the request carried no ${what}`);
  return url;
}

function unescapeXml(text: string): string {
  return text
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'");
}

// ---- A notifier wired to the test server and to its callback routes on a real port ----

export interface NotifyStack {
  twilio: TwilioTestServer;
  db: Db;
  dbFile: string;
  publicUrl: string;
  /** The notifier the callback routes currently talk to (see `replaceNotifier`). */
  notifier: Notifier;
  metrics: Registry;
  /** Close the current notifier and build another (a restart); the routes follow it. */
  replaceNotifier(options?: Partial<NotifierOptions>, reopenDb?: boolean): Promise<Notifier>;
  close(): Promise<void>;
}

/**
 * Temp SQLite file, the Twilio test server, the callback routes on a free 127.0.0.1 port (Twilio
 * must reach them) and a notifier using the real `twilio` package against the test server.
 */
export async function startNotifyStack(
  options: Partial<NotifierOptions> & { dryRun?: boolean; timeoutMs?: number } = {},
): Promise<NotifyStack> {
  const { dryRun = false, timeoutMs = 2_000, ...notifierOptions } = options;
  const logger = pino({ level: 'silent' });
  const dir = await mkdtemp(join(tmpdir(), 'frostwatch-notify-'));
  const dbFile = join(dir, 'frostwatch.db');
  const server = await TwilioTestServer.start();
  const port = await findFreePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const sender = createTwilioSender({
    accountSid: server.accountSid,
    authToken: server.authToken,
    from: '+15005550006',
    apiUrl: server.url,
    publicUrl,
    timeoutMs,
  });
  let db = openDatabase(dbFile, logger);
  let metrics = new Registry();
  const build = (extra: Partial<NotifierOptions>): Notifier => {
    metrics = new Registry();
    return createNotifier({
      db,
      twilio: dryRun ? null : sender,
      clock: systemClock,
      logger,
      metrics,
      rateLimitPerSec: 1_000,
      callsPerSec: 1_000,
      idlePollMs: 50,
      backoff: { baseMs: 20, maxMs: 100 },
      ...notifierOptions,
      ...extra,
    });
  };
  let notifier = build({});
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandlers(app);
  const delegate = {
    applyStatus: (...args: Parameters<Notifier['applyStatus']>) => notifier.applyStatus(...args),
    acknowledge: (id: number) => notifier.acknowledge(id),
    outbox: {
      get: (id: number) => notifier.outbox.get(id),
      recordAnswer: (id: number, answer: string) => notifier.outbox.recordAnswer(id, answer),
    },
  };
  await app.register(twilioRoutes({ notifier: delegate, authToken: dryRun ? null : server.authToken, publicUrl }), {
    prefix: '/api/twilio',
  });
  await app.listen({ host: '127.0.0.1', port });
  notifier.start();

  const stack: NotifyStack = {
    twilio: server,
    dbFile,
    publicUrl,
    get db() {
      return db;
    },
    get notifier() {
      return notifier;
    },
    get metrics() {
      return metrics;
    },
    async replaceNotifier(extra = {}, reopenDb = false) {
      await notifier.close();
      if (reopenDb) {
        db.close();
        db = openDatabase(dbFile, logger);
      }
      notifier = build(extra);
      notifier.start();
      return notifier;
    },
    async close() {
      await notifier.close();
      await app.close();
      await server.close();
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

let keySeq = 0;

/** An SMS row for `phone`; `dedupeKey` unique unless given. */
export function smsRow(phone: string, body: string, extra: Partial<OutboxInsert> = {}): OutboxInsert {
  keySeq += 1;
  return {
    dedupeKey: `test:${keySeq}:${phone}`,
    eventId: null,
    recipientKind: 'farmer',
    recipientId: 1,
    channel: 'sms',
    phone,
    language: 'vi',
    body,
    encoding: 'UCS-2',
    segments: 1,
    costUsd: 0.08,
    ...extra,
  };
}

export function voiceRow(phone: string, body: string, extra: Partial<OutboxInsert> = {}): OutboxInsert {
  return smsRow(phone, body, { channel: 'voice', ...extra });
}

function randomHex(length: number): string {
  return randomBytes(Math.ceil(length / 2))
    .toString('hex')
    .slice(0, length);
}

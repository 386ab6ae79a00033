import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { SESSION_COOKIE } from './auth/request-auth.js';
import { sendError } from './http-errors.js';

/** Per-address request limits of the HTTP server (in memory: one process, counts restart with it). */
export interface HttpRateLimits {
  /** Requests per minute from one address, Twilio callbacks and sign-in apart. */
  requestsPerMin: number;
  /** Sign-in attempts (POST /api/session) per minute from one address. */
  signInsPerMin: number;
  /** Wrong credentials (a 401 to a request that carried a token, a session cookie or a password) from one address … */
  failedAuthMax: number;
  /** … within this window; past it, every /api request from that address is answered 429 until the window ends. */
  failedAuthWindowMs: number;
  /** Twilio callbacks per minute from one address: a bucket of their own. */
  twilioPerMin: number;
}

export const DEFAULT_HTTP_RATE_LIMITS: HttpRateLimits = {
  // An open dashboard makes a handful of requests a minute (plus one long-lived SSE stream); a district office of
  // twenty officers behind one NAT address stays far below 600, while a scraper or a loop is stopped within a minute.
  requestsPerMin: 600,
  // People type passwords; ten a minute is plenty for typos. The per-username lockout (5 failures → 15 min,
  // server/auth) stops guessing one account; this stops one address spraying many.
  signInsPerMin: 10,
  // Guessing a 256-bit token is hopeless anyway; this bounds how fast anyone may try tokens or passwords at all.
  failedAuthMax: 30,
  failedAuthWindowMs: 10 * 60_000,
  // Twilio posts status callbacks in bursts (several per message, sent at up to SMS_SEGMENTS_PER_S) and fetches the
  // call script of a Severe voice call, which must never be refused; each callback is signature-checked before any
  // work. Apart from the dashboard's bucket, so officers' traffic cannot starve it, and still bounded.
  twilioPerMin: 6_000,
};

type Bucket = 'twilio' | 'signin' | 'general';

function bucketOf(request: FastifyRequest): Bucket {
  const path = request.url.split('?')[0] ?? '';
  if (path.startsWith('/api/twilio/')) return 'twilio';
  if (request.method === 'POST' && path === '/api/session') return 'signin';
  return 'general';
}

/**
 * @fastify/rate-limit on every route, with three buckets per address (see DEFAULT_HTTP_RATE_LIMITS), plus a
 * stricter count of failed credentials. Answers 429 through the app's error handler: `{error, message}` and
 * Retry-After. Register before the routes (the plugin hooks each route as it is added).
 */
export async function registerRateLimits(
  app: FastifyInstance,
  limits: HttpRateLimits,
  metrics: Registry,
  store?: FastifyRateLimitStoreCtor,
): Promise<void> {
  const name = 'frostwatch_http_rate_limited_total';
  // One registry may serve several apps in a test process; a second Counter of the same name would throw.
  const limited =
    (metrics.getSingleMetric(name) as Counter<'bucket'> | undefined) ??
    new Counter({
      name,
      help: 'HTTP requests answered 429 by a rate limit, by bucket (general, signin, twilio, failed_auth)',
      labelNames: ['bucket'] as const,
      registers: [metrics],
    });
  const perMin: Record<Bucket, number> = { general: limits.requestsPerMin, signin: limits.signInsPerMin, twilio: limits.twilioPerMin };
  await app.register(rateLimit, {
    // A cluster's servers count together (http-limits-pg.ts); absent: in this process, as `frostwatch up`.
    ...(store ? { store } : {}),
    timeWindow: 60_000,
    keyGenerator: (request) => `${bucketOf(request)}|${request.ip}`,
    // This host's own tools — the CLI, health probes, scripts and tests polling the API — are not throttled. Sign-in
    // and failed credentials stay limited for loopback too. A reverse proxy on this host must be listed in
    // HTTP_TRUSTED_PROXIES (then request.ip is the client's); unlisted, its traffic is exempt here rather than all
    // users sharing one budget: on a frost night the dashboard staying usable comes first.
    allowList: (request) => bucketOf(request) === 'general' && isLoopback(request.ip),
    max: (request) => perMin[bucketOf(request)],
    onExceeded: (request) => limited.inc({ bucket: bucketOf(request) }),
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`too many requests; try again in ${context.after}`), { statusCode: context.statusCode }),
  });
  limitFailedCredentials(app, limits, () => limited.inc({ bucket: 'failed_auth' }));
}

/** Counts 401s to requests that tried a credential; once an address has `failedAuthMax`, /api refuses it for the window. */
function limitFailedCredentials(app: FastifyInstance, limits: HttpRateLimits, onRefused: () => void): void {
  const failures = app.createRateLimit({
    max: limits.failedAuthMax,
    timeWindow: limits.failedAuthWindowMs,
    keyGenerator: (request) => request.ip,
  });
  const guarded = (request: FastifyRequest): boolean => request.url.startsWith('/api/') && bucketOf(request) !== 'twilio';
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!guarded(request)) return undefined;
    const state = await failures(request, { increment: false });
    if (state.isAllowed || state.remaining > 0) return undefined;
    onRefused();
    const minutes = Math.max(1, Math.ceil(state.ttlInSeconds / 60));
    return sendError(
      reply.header('retry-after', String(state.ttlInSeconds)),
      429,
      `too many failed sign-ins or tokens from this address; try again in ${minutes} min`,
    );
  });
  // Counted before the 401 goes out, not after: with the counters in PostgreSQL (a cluster) the caller's next request
  // must already find this failure, whichever server it reaches.
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (reply.statusCode === 401 && guarded(request) && triedCredential(request)) await failures(request);
    return payload;
  });
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}

/** A request without any credential cannot be a guess; the dashboard asks /api/me like that before sign-in. */
function triedCredential(request: FastifyRequest): boolean {
  // @fastify/cookie decorates `cookies` as null and fills it in its own onRequest hook, which a refused request may not reach.
  const cookies = request.cookies as FastifyRequest['cookies'] | null;
  return request.headers.authorization !== undefined || cookies?.[SESSION_COOKIE] !== undefined || bucketOf(request) === 'signin';
}

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HealthSchema, ReadySchema } from '../../contracts/index.js';
import type { AppDeps } from '../app-deps.js';
import { bearerMatches } from '../auth/admin-token.js';
import { errorResponses, sendError } from '../http-errors.js';
import { routesPlugin } from './routes-plugin.js';

/** The dependencies without which a reading cannot be made durable and acknowledged. */
const READY_NEEDS: readonly string[] = ['broker', 'spool', 'sqlite'];

/**
 * `/health`, `/ready` and `/metrics`, for load balancers, systemd and Prometheus. Health and readiness carry no auth;
 * `/metrics` asks for `Authorization: Bearer <METRICS_TOKEN>` when one is configured (it names stations' counts, queue
 * depths and error rates: what someone probing the office network should not read), and is open without one.
 */
export function systemRoutes(deps: Pick<AppDeps, 'health' | 'metrics' | 'metricsToken'>): FastifyPluginAsyncZod {
  const { health, metrics, metricsToken } = deps;
  return routesPlugin((app) => {
    // `/` is the officers' dashboard (routes/static.ts); the API docs are at /docs.
    app.get(
      '/health',
      {
        schema: {
          summary: 'Liveness and dependencies; 503 when down',
          tags: ['system'],
          response: { 200: HealthSchema, 503: HealthSchema },
        },
      },
      async (_request, reply) => {
        const result = await health();
        return reply.code(result.status === 'down' ? 503 : 200).send(result);
      },
    );

    // Readiness, for a load balancer or systemd: can readings be accepted (and acknowledged) right now?
    // InfluxDB and Twilio are not needed for that — the spool and the outbox hold the work until they return.
    app.get(
      '/ready',
      {
        schema: {
          summary: 'Ready to accept readings: broker, spool (not full) and SQLite up; 503 naming what is not',
          tags: ['system'],
          response: { 200: ReadySchema, 503: ReadySchema },
        },
      },
      async (_request, reply) => {
        const { checks } = await health();
        const failing = READY_NEEDS.filter((name) => checks[name]?.ok !== true);
        const needed = Object.fromEntries(Object.entries(checks).filter(([name]) => READY_NEEDS.includes(name)));
        return reply.code(failing.length === 0 ? 200 : 503).send({ ready: failing.length === 0, failing, checks: needed });
      },
    );

    app.get(
      '/metrics',
      {
        schema: {
          summary: metricsToken
            ? 'Prometheus metrics (text format); needs Authorization: Bearer <METRICS_TOKEN>'
            : 'Prometheus metrics (text format). Open (METRICS_TOKEN unset): expose only to loopback or the scraper network',
          tags: ['system'],
          ...(metricsToken ? { security: [{ bearer: [] }], response: errorResponses(401) } : {}),
        },
      },
      async (request, reply) => {
        // Only METRICS_TOKEN opens it, not the admin token: the scraper's credential file then grants nothing else.
        // bearerMatches compares SHA-256 digests with timingSafeEqual, so neither the token's length nor its
        // characters leak through timing.
        if (metricsToken && !bearerMatches(request.headers.authorization, metricsToken))
          return sendError(
            reply.header('www-authenticate', 'Bearer'),
            401,
            request.headers.authorization === undefined
              ? '/metrics needs Authorization: Bearer <METRICS_TOKEN>'
              : 'wrong metrics token (or not a Bearer token)',
          );
        const text = await metrics.metrics();
        return reply.type(metrics.contentType).send(text);
      },
    );
  });
}

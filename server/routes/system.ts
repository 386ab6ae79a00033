import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HealthSchema, ReadySchema } from '../../contracts/index.js';
import type { AppDeps } from '../app-deps.js';
import { routesPlugin } from './routes-plugin.js';

/** The dependencies without which a reading cannot be made durable and acknowledged. */
const READY_NEEDS: readonly string[] = ['broker', 'spool', 'sqlite'];

/** `/health`, `/ready` and `/metrics`: no auth, for load balancers and Prometheus on loopback or a private network. */
export function systemRoutes(deps: Pick<AppDeps, 'health' | 'metrics'>): FastifyPluginAsyncZod {
  const { health, metrics } = deps;
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
          summary: 'Prometheus metrics (text format). Unauthenticated: expose only to loopback or the scraper network',
          tags: ['system'],
        },
      },
      async (_request, reply) => {
        const text = await metrics.metrics();
        return reply.type(metrics.contentType).send(text);
      },
    );
  });
}

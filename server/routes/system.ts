import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HealthSchema } from '../../contracts/index.js';
import type { AppDeps } from '../app.js';

/** `/health` and `/metrics`: no auth, for load balancers and Prometheus on loopback or a private network. */
export function systemRoutes(deps: Pick<AppDeps, 'health' | 'metrics'>): FastifyPluginAsyncZod {
  const { health, metrics } = deps;
  return async (app) => {
    // `/` is the officers' dashboard (routes/static.ts); the API docs are at /docs.
    app.get('/health', {
      schema: {
        summary: 'Liveness and dependencies; 503 when down',
        tags: ['system'],
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    }, async (_request, reply) => {
      const result = await health();
      return reply.code(result.status === 'down' ? 503 : 200).send(result);
    });

    app.get('/metrics', {
      schema: {
        summary: 'Prometheus metrics (text format). Unauthenticated: expose only to loopback or the scraper network',
        tags: ['system'],
      },
    }, async (_request, reply) => {
      const text = await metrics.metrics();
      return reply.type(metrics.contentType).send(text);
    });
  };
}

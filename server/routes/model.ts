import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../contracts/index.js';
import type { FitResult } from '../alerts/model-fit.js';
import { requireRole } from '../auth/request-auth.js';
import { errorResponses, sendError } from '../http-errors.js';
import { StationParamsSchema } from './stations.js';

export interface ModelRoutesDeps {
  clock: Clock;
  fitModel(stationId: string, fromMs: number, toMs: number): Promise<FitResult | null>;
}

const FitBodySchema = z
  .object({
    from: z.iso.datetime({ offset: true }).optional().describe('default: 150 days before `to`'),
    to: z.iso.datetime({ offset: true }).optional().describe('default: now'),
  })
  .default({});

const FitAnswerSchema = z.object({
  stationId: z.string(),
  a: z.number(),
  b: z.number(),
  c: z.number(),
  nights: z.number().describe('radiative nights fitted'),
  nightsSeen: z.number(),
  rmseC: z.number().describe('in-sample root mean square error of the minimum'),
});

/** `POST /api/stations/:id/model`: fit the station's FFST minimum forecast on its own stored nights and use it. */
export function modelRoutes(deps: ModelRoutesDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/stations/:id/model', {
      preHandler: requireRole('admin'),
      schema: {
        summary: "Fit the station's FFST minimum forecast (Tp = a·T₂ + b·Td₂ + c) on its radiative nights; the rules use it from now on",
        tags: ['stations'],
        params: StationParamsSchema,
        body: FitBodySchema,
        response: { 200: FitAnswerSchema, ...errorResponses(400, 401, 403, 404, 422) },
      },
    }, async (request, reply) => {
      const toMs = request.body.to ? Date.parse(request.body.to) : deps.clock.now();
      const fromMs = request.body.from ? Date.parse(request.body.from) : toMs - 150 * 86_400_000;
      if (fromMs >= toMs) return sendError(reply, 400, 'body.from: must be before `to`');
      const result = await deps.fitModel(request.params.id, fromMs, toMs);
      if (result === null) return sendError(reply, 404, `station ${request.params.id} not found`);
      if (!result.ok) return sendError(reply, 422, result.reason);
      const { model, nightsSeen, nightsUsed } = result.report;
      request.log.info({ stationId: request.params.id, a: model.a, b: model.b, c: model.c, nights: nightsUsed }, 'FFST model fitted');
      return { stationId: request.params.id, a: model.a, b: model.b, c: model.c, nights: nightsUsed, nightsSeen, rmseC: model.rmseC };
    });
  };
}

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../contracts/index.js';
import { OVERRIDABLE_RULES } from '../../frost/index.js';
import type { FitResult } from '../warnings/model-fit.js';
import { requireRole } from '../auth/request-auth.js';
import { errorResponses, sendError } from '../http-errors.js';
import { StationParamsSchema } from './stations.js';
import { routesPlugin } from './routes-plugin.js';

export interface ModelRoutesDeps {
  clock: Clock;
  fitModel(stationId: string, fromMs: number, toMs: number): Promise<FitResult | null>;
  /** Replace a station's rule overrides; null when the station is unknown. */
  setRuleOverrides(stationId: string, overrides: Record<string, number>): Record<string, number> | null;
}

const RuleOverridesSchema = z
  .record(z.string(), z.number())
  .refine((o) => Object.keys(o).every((k) => OVERRIDABLE_RULES.includes(k)), {
    error: `keys must be among: ${OVERRIDABLE_RULES.join(', ')}`,
  })
  .describe('absolute values replacing the crop defaults, e.g. {"leafOffsetC": 4, "warningMinC": 2.5, "qc.stuckDeltaC": 0.3}');

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
  return routesPlugin((app) => {
    app.put(
      '/stations/:id/rules',
      {
        preHandler: requireRole('admin'),
        config: { audit: { action: 'station.rules.set', details: ({ response }) => ({ overrides: response }) } },
        schema: {
          summary: "Replace a station's rule overrides (thresholds in °C, times in ms); {} restores the crop defaults",
          tags: ['stations'],
          params: StationParamsSchema,
          body: RuleOverridesSchema,
          response: { 200: RuleOverridesSchema, ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        const saved = deps.setRuleOverrides(request.params.id, request.body);
        if (saved === null) return sendError(reply, 404, `station ${request.params.id} not found`);
        request.log.info({ stationId: request.params.id, overrides: saved }, 'station rules changed');
        return saved;
      },
    );

    app.post(
      '/stations/:id/model',
      {
        preHandler: requireRole('admin'),
        config: { audit: { action: 'station.model.fit' } },
        schema: {
          summary: "Fit the station's FFST minimum forecast (Tp = a·T₂ + b·Td₂ + c) on its radiative nights; the rules use it from now on",
          tags: ['stations'],
          params: StationParamsSchema,
          body: FitBodySchema,
          response: { 200: FitAnswerSchema, ...errorResponses(400, 401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        const toMs = request.body.to ? Date.parse(request.body.to) : deps.clock.now();
        const fromMs = request.body.from ? Date.parse(request.body.from) : toMs - 150 * 86_400_000;
        if (fromMs >= toMs) return sendError(reply, 400, 'body.from: must be before `to`');
        const result = await deps.fitModel(request.params.id, fromMs, toMs);
        if (result === null) return sendError(reply, 404, `station ${request.params.id} not found`);
        if (!result.ok) return sendError(reply, 422, result.reason);
        const { model, nightsSeen, nightsUsed } = result.report;
        request.log.info({ stationId: request.params.id, a: model.a, b: model.b, c: model.c, nights: nightsUsed }, 'FFST model fitted');
        return { stationId: request.params.id, a: model.a, b: model.b, c: model.c, nights: nightsUsed, nightsSeen, rmseC: model.rmseC };
      },
    );
  });
}

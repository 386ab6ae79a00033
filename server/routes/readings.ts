import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ReadingsQuerySchema, ReadingsResponseSchema } from '../../contracts/index.js';
import type { AppDeps } from '../app-deps.js';
import { errorResponses, sendError } from '../http-errors.js';
import { seesDistrict } from '../auth/district-scope.js';
import { StationParamsSchema } from './stations.js';
import { routesPlugin } from './routes-plugin.js';

const DAY_MS = 24 * 3_600_000;
const DEFAULT_SPAN_MS = DAY_MS;
/** A season and a bit: enough for year-on-year reports, bounded so one request cannot scan everything. */
const MAX_SPAN_DAYS = 400;

/** `GET /api/stations/:id/readings`: checks the window and the station before storage is asked. */
export function readingsRoutes(deps: Pick<AppDeps, 'stations' | 'readings' | 'clock'>): FastifyPluginAsyncZod {
  const { stations, readings, clock } = deps;
  return routesPlugin((app) => {
    app.get(
      '/stations/:id/readings',
      {
        schema: {
          summary: 'Readings of one station in a time window, raw or aggregated',
          tags: ['readings'],
          params: StationParamsSchema,
          querystring: ReadingsQuerySchema,
          response: { 200: ReadingsResponseSchema, ...errorResponses(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const { from, to, every } = request.query;
        const toMs = to === undefined ? clock.now() : Date.parse(to);
        const fromMs = from === undefined ? toMs - DEFAULT_SPAN_MS : Date.parse(from);
        if (fromMs >= toMs) return sendError(reply, 400, 'querystring.from: must be before `to`');
        if (toMs - fromMs > MAX_SPAN_DAYS * DAY_MS)
          return sendError(reply, 400, `querystring.from: window longer than ${MAX_SPAN_DAYS} days`);
        const station = stations.get(id);
        if (!station || !seesDistrict(request, station.districtId)) return sendError(reply, 404, `station ${id} not found`);
        const rows = await readings.query(id, { fromMs, toMs, every });
        return {
          stationId: id,
          from: new Date(fromMs).toISOString(),
          to: new Date(toMs).toISOString(),
          every: every ?? null,
          readings: rows,
        };
      },
    );
  });
}

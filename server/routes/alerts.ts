import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AlertSchema, AlertsQuerySchema, DeliverySchema, UnreachedSchema } from '../../contracts/index.js';
import type { AlertStore } from '../warnings/alert-store.js';
import type { DeliveryView } from '../warnings/deliveries.js';
import { requireRole } from '../auth/request-auth.js';
import { districtOf, seesDistrict } from '../auth/district-scope.js';
import { errorResponses, sendError } from '../http-errors.js';
import type { Clock } from '../../contracts/index.js';
import { routesPlugin } from './routes-plugin.js';

export interface AlertRoutesDeps {
  alerts: AlertStore;
  deliveries: DeliveryView;
  clock: Clock;
  /** The district of a station (null: unknown), for district users (server/auth/district-scope.ts). */
  stationDistrict(stationId: string): string | null;
}

const AlertParamsSchema = z.object({ id: z.coerce.number().int().positive() });
const AlertDetailSchema = AlertSchema.extend({ deliveries: z.array(DeliverySchema) });

/** `/api/alerts…`: active, acknowledged and cleared alerts, their history and deliveries; acknowledgement. */
export function alertRoutes(deps: AlertRoutesDeps): FastifyPluginAsyncZod {
  const { alerts, deliveries, clock } = deps;
  const visible = (request: FastifyRequest, stationId: string): boolean => {
    if (districtOf(request) === null) return true;
    const districtId = deps.stationDistrict(stationId);
    return districtId !== null && seesDistrict(request, districtId);
  };
  return routesPlugin((app) => {
    app.get(
      '/alerts',
      {
        schema: {
          summary: 'Alerts, newest first',
          tags: ['alerts'],
          querystring: AlertsQuerySchema,
          response: { 200: z.array(AlertSchema), ...errorResponses(400, 401) },
        },
      },
      (request) => alerts.list({ ...request.query, districtId: districtOf(request) ?? undefined }),
    );

    app.get(
      '/alerts/unreached',
      {
        schema: {
          summary: 'Who has not been reached in the last 24 h: no delivered SMS and no acknowledged call',
          tags: ['alerts'],
          querystring: z.object({
            hours: z.coerce
              .number()
              .min(1)
              .max(24 * 14)
              .default(24),
          }),
          response: { 200: z.array(UnreachedSchema), ...errorResponses(400, 401) },
        },
      },
      (request) => {
        const rows = deliveries.unreached(clock.now() - request.query.hours * 3_600_000);
        if (districtOf(request) === null) return rows;
        return rows.filter((u) => {
          const districtId = u.stationId === null ? null : deps.stationDistrict(u.stationId);
          return districtId !== null && seesDistrict(request, districtId);
        });
      },
    );

    app.get(
      '/alerts/:id',
      {
        schema: {
          summary: 'One alert with its history (each decision and its inputs) and who was sent what',
          tags: ['alerts'],
          params: AlertParamsSchema,
          response: { 200: AlertDetailSchema, ...errorResponses(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const alert = alerts.get(request.params.id, true);
        if (!alert || !visible(request, alert.stationId)) return sendError(reply, 404, `alert ${request.params.id} not found`);
        return { ...alert, deliveries: deliveries.forAlert(alert.id) };
      },
    );

    app.post(
      '/alerts/:id/ack',
      {
        preHandler: requireRole('admin', 'officer'),
        config: { audit: { action: 'alert.ack' } },
        schema: {
          summary: 'Acknowledge an alert (an officer has seen it and acts)',
          tags: ['alerts'],
          params: AlertParamsSchema,
          response: { 200: AlertSchema, ...errorResponses(400, 401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        const seen = alerts.get(request.params.id);
        if (!seen || !visible(request, seen.stationId)) return sendError(reply, 404, `alert ${request.params.id} not found`);
        const result = alerts.acknowledge(request.params.id, request.principal?.subject ?? 'unknown', clock.now());
        if (!result.ok)
          return sendError(
            reply,
            result.reason === 'not_found' ? 404 : 409,
            result.reason === 'not_found' ? `alert ${request.params.id} not found` : 'alert already cleared',
          );
        request.log.info({ alertId: request.params.id }, 'alert acknowledged');
        return result.alert;
      },
    );
  });
}

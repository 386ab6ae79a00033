import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DistrictCreateSchema, DistrictSchema, type District } from '../../contracts/index.js';
import { isRecord } from '../audit/audit-hook.js';
import { districtOf } from '../auth/district-scope.js';
import { requireRole } from '../auth/request-auth.js';
import { errorResponses, sendError } from '../http-errors.js';
import type { DistrictRecord, DistrictRepository } from '../registry/districts.js';
import { routesPlugin } from './routes-plugin.js';

/**
 * `/api/districts`: the province's districts. Any role reads (a district user sees their own only: the dashboard names
 * it; a province user gets the list to filter by); only admins add one. Districts are never deleted.
 */
export function districtRoutes(deps: { districts: DistrictRepository }): FastifyPluginAsyncZod {
  const { districts } = deps;
  return routesPlugin((app) => {
    app.get(
      '/districts',
      {
        schema: {
          summary: "The province's districts (a district user: their own only)",
          tags: ['districts'],
          response: { 200: z.array(DistrictSchema), ...errorResponses(401) },
        },
      },
      (request) => {
        const own = districtOf(request);
        return districts
          .list()
          .filter((d) => own === null || d.id === own)
          .map(toApiDistrict);
      },
    );

    app.post(
      '/districts',
      {
        preHandler: requireRole('admin'),
        config: {
          audit: { action: 'district.create', details: ({ response }) => (isRecord(response) ? { name: response['name'] } : null) },
        },
        schema: {
          summary: 'Add a district to the province; stations, farmers, officers and users may then be placed in it',
          tags: ['districts'],
          body: DistrictCreateSchema,
          response: { 201: DistrictSchema, ...errorResponses(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const result = districts.create(request.body);
        if (!result.ok) return sendError(reply, 409, result.message);
        request.log.info({ districtId: result.district.id }, 'district added');
        return reply.code(201).send(toApiDistrict(result.district));
      },
    );
  });
}

function toApiDistrict(d: DistrictRecord): District {
  return { id: d.id, name: d.name, createdAt: new Date(d.createdAt).toISOString() };
}

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AuditPageSchema, AuditQuerySchema } from '../../contracts/index.js';
import type { AuditLog } from '../audit/audit-log.js';
import { requireRole } from '../auth/request-auth.js';
import { errorResponses } from '../http-errors.js';
import { routesPlugin } from './routes-plugin.js';

/**
 * `GET /api/audit`: admin only. It holds remote addresses, sign-in failures and who changed whom — what an
 * attacker with an officer's password would like to read; officers see acknowledgements on the alerts themselves.
 */
export function auditRoutes(deps: { audit: AuditLog }): FastifyPluginAsyncZod {
  return routesPlugin((app) => {
    app.get(
      '/audit',
      {
        preHandler: requireRole('admin'),
        schema: {
          summary: "The audit log of people's actions, newest first; page with `before`",
          tags: ['system'],
          querystring: AuditQuerySchema,
          response: { 200: AuditPageSchema, ...errorResponses(400, 401, 403) },
        },
      },
      (request) => deps.audit.page(request.query),
    );
  });
}

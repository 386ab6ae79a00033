import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IntegrationCreateSchema, IntegrationCredentialsSchema, IntegrationSchema, type Integration } from '../../contracts/index.js';
import { requireRole } from '../auth/request-auth.js';
import { errorResponses, sendError } from '../http-errors.js';
import type { IntegrationRecord, IntegrationRepository } from '../registry/integrations.js';
import { routesPlugin } from './routes-plugin.js';

export const IntegrationParamsSchema = z.object({ username: z.string().min(1).max(100).describe('e.g. chirpstack:lac-duong') });

export interface IntegrationRoutesDeps {
  integrations: IntegrationRepository;
}

/** `/api/integrations…`: MQTT accounts of other systems (a ChirpStack's MQTT integration); admins only. */
export function integrationRoutes(deps: IntegrationRoutesDeps): FastifyPluginAsyncZod {
  const { integrations } = deps;
  return routesPlugin((app) => {
    app.post(
      '/integrations',
      {
        preHandler: requireRole('admin'),
        config: {
          audit: {
            action: 'integration.create',
            target: ({ response }) => (response as { username?: string } | null)?.username ?? null,
          },
        },
        schema: {
          summary:
            'Create an integration account (e.g. a ChirpStack MQTT integration); the answer holds its MQTT password, shown only this once',
          tags: ['integrations'],
          body: IntegrationCreateSchema,
          response: { 201: IntegrationCredentialsSchema, ...errorResponses(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const credentials = await integrations.create(request.body);
        if (credentials === null) return sendError(reply, 409, `integration ${request.body.kind}:${request.body.name} already exists`);
        request.log.info({ username: credentials.username }, 'integration account created');
        return reply.code(201).send(credentials);
      },
    );

    app.get(
      '/integrations',
      {
        preHandler: requireRole('admin'),
        schema: {
          summary: 'Integration accounts (no secrets)',
          tags: ['integrations'],
          response: { 200: z.array(IntegrationSchema), ...errorResponses(401, 403) },
        },
      },
      () => integrations.list().map(toApiIntegration),
    );

    app.delete(
      '/integrations/:username',
      {
        preHandler: requireRole('admin'),
        config: { audit: { action: 'integration.remove', target: ({ request }) => (request.params as { username: string }).username } },
        schema: {
          summary: 'Remove an integration account: its next CONNECT is refused',
          tags: ['integrations'],
          params: IntegrationParamsSchema,
          response: { 204: z.null(), ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        if (!integrations.remove(request.params.username)) return sendError(reply, 404, `integration ${request.params.username} not found`);
        request.log.warn({ username: request.params.username }, 'integration account removed');
        return reply.code(204).send(null);
      },
    );
  });
}

export function toApiIntegration(record: IntegrationRecord): Integration {
  return { kind: record.kind, name: record.name, username: record.username, createdAt: new Date(record.createdAt).toISOString() };
}

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MeSchema, UserCreateSchema } from '../../contracts/index.js';
import { requireRole } from '../auth/request-auth.js';
import type { UserRecord, UserRepository } from '../auth/users.js';
import { errorResponses, sendError } from '../http-errors.js';
import { isRecord } from '../audit/audit-hook.js';
import { routesPlugin } from './routes-plugin.js';

/** A user as the API shows it: never the password or its hash. (Candidate for contracts/dashboard.ts.) */
export const UserSchema = MeSchema.extend({
  createdAt: z.string().describe('ISO 8601'),
  disabled: z.boolean(),
});
export type User = z.infer<typeof UserSchema>;

/** `/api/users`: dashboard accounts. Admin only; authentication is done by the enclosing /api plugin. */
export function userRoutes(deps: { users: UserRepository; districtName?: (id: string) => string }): FastifyPluginAsyncZod {
  const { users, districtName } = deps;
  return routesPlugin((app) => {
    app.get(
      '/users',
      {
        preHandler: requireRole('admin'),
        schema: { summary: 'All dashboard users', tags: ['users'], response: { 200: z.array(UserSchema), ...errorResponses(401, 403) } },
      },
      () => users.list().map((user) => toApiUser(user, districtName)),
    );

    app.post(
      '/users',
      {
        preHandler: requireRole('admin'),
        config: {
          audit: {
            action: 'user.create',
            target: ({ response }) => (isRecord(response) && typeof response['username'] === 'string' ? response['username'] : null),
            details: ({ response }) => (isRecord(response) ? { role: response['role'], districtId: response['districtId'] } : null),
          },
        },
        schema: {
          summary: 'Create a dashboard user (admin, officer or viewer); the password is stored as an scrypt hash only',
          tags: ['users'],
          body: UserCreateSchema,
          response: { 201: UserSchema, ...errorResponses(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const result = await users.create(request.body);
        if (!result.ok) return sendError(reply, result.reason === 'exists' ? 409 : 400, result.message);
        request.log.info({ username: result.user.username, role: result.user.role, by: request.principal?.subject }, 'user created');
        return reply.code(201).send(toApiUser(result.user, districtName));
      },
    );
  });
}

export function toApiUser(user: UserRecord, districtName?: (id: string) => string): User {
  return {
    username: user.username,
    name: user.name,
    role: user.role,
    createdAt: new Date(user.createdAt).toISOString(),
    disabled: user.disabled,
    districtId: user.districtId,
    districtName: user.districtId === null ? null : (districtName?.(user.districtId) ?? user.districtId),
  };
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LoginSchema, MeSchema, type Me } from '../../contracts/index.js';
import { SESSION_COOKIE } from '../auth/request-auth.js';
import type { UserAuth } from '../auth/sessions.js';
import { ADMIN_TOKEN_SUBJECT } from '../auth/users.js';
import { isRecord } from '../audit/audit-hook.js';
import { errorResponses, sendError } from '../http-errors.js';
import { routesPlugin } from './routes-plugin.js';

/** One answer for every failed sign-in, so it never tells whether the username exists. */
export const LOGIN_FAILED_MESSAGE = 'wrong username or password';

/**
 * `POST /api/session`: sign in. Outside the /api authentication hook (it is how one gets authenticated).
 * A cross-site form cannot post JSON without a CORS preflight, which this server never grants, so login CSRF is shut too.
 */
export function loginRoutes(deps: { auth: UserAuth }): FastifyPluginAsyncZod {
  const { auth } = deps;
  return routesPlugin((app) => {
    app.post(
      '/session',
      {
        config: {
          audit: {
            action: 'session.signin',
            failures: true,
            actor: ({ request }) => ({ kind: 'user', name: typedUser(auth, request.body) }),
          },
        },
        schema: {
          summary: 'Sign in: sets the httpOnly session cookie fw_session (12 h, extended by use). 5 failures lock the username for 15 min',
          tags: ['session'],
          body: LoginSchema,
          response: { 200: MeSchema, ...errorResponses(400, 401, 429) },
        },
      },
      async (request, reply) => {
        const result = await auth.login(request.body.username, request.body.password);
        if (!result.ok && result.reason === 'locked') {
          const minutes = Math.ceil(result.retryAfterS / 60);
          return sendError(
            reply.header('retry-after', String(result.retryAfterS)),
            429,
            `too many failed sign-ins; try again in ${minutes} min`,
          );
        }
        if (!result.ok) return sendError(reply, 401, LOGIN_FAILED_MESSAGE);
        setSessionCookie(request, reply, result.sessionId);
        const { districtId } = result.user;
        return {
          username: result.user.username,
          role: result.user.role,
          name: result.user.name,
          districtId,
          districtName: districtId === null ? null : deps.auth.users.districtName(districtId),
        };
      },
    );
  });
}

/** `GET /api/me` and `DELETE /api/session`, behind the /api authentication hook. `auth` is null when users are not wired. */
export function sessionRoutes(deps: { auth: UserAuth | null; districtName?: (id: string) => string }): FastifyPluginAsyncZod {
  return routesPlugin((app) => {
    app.get(
      '/me',
      {
        schema: {
          summary: 'Who is signed in, and with which role',
          tags: ['session'],
          response: { 200: MeSchema, ...errorResponses(401) },
        },
      },
      (request) => me(request, deps.districtName),
    );

    app.delete(
      '/session',
      {
        config: { audit: { action: 'session.signout' } },
        schema: {
          summary: 'Sign out: ends the session of the cookie and clears it',
          tags: ['session'],
          response: { 204: z.null(), ...errorResponses(401, 403) },
        },
      },
      async (request, reply) => {
        const sessionId = request.cookies[SESSION_COOKIE];
        if (sessionId !== undefined) deps.auth?.sessions.revoke(sessionId);
        request.log.info({ subject: request.principal?.subject }, 'signed out');
        return reply.clearCookie(SESSION_COOKIE, { path: '/' }).code(204).send(null);
      },
    );
  });
}

/**
 * Who tried to sign in, for the audit log: a known username, else a placeholder — people type their password into
 * the username field, and the audit log must not keep it.
 */
function typedUser(auth: UserAuth, body: unknown): string {
  const typed = isRecord(body) && typeof body['username'] === 'string' ? body['username'].trim().toLowerCase() : '';
  return typed !== '' && auth.users.get(typed) !== null ? typed : '(unknown username)';
}

function me(request: FastifyRequest, districtName?: (id: string) => string): Me {
  const principal = request.principal;
  // The hook ran before this handler; a missing principal is a wiring bug, not a caller's mistake.
  if (!principal) throw new Error('GET /me reached without a principal');
  const name = principal.name ?? (principal.subject === ADMIN_TOKEN_SUBJECT ? 'Admin token' : principal.subject);
  const districtId = principal.role === 'admin' ? null : (principal.districtId ?? null);
  const district = districtId === null ? null : (districtName?.(districtId) ?? districtId);
  return { username: principal.subject, role: principal.role, name, districtId, districtName: district };
}

function setSessionCookie(request: FastifyRequest, reply: FastifyReply, sessionId: string): void {
  // No Max-Age: the browser forgets it on close; the server's sliding 12 h expiry is what counts.
  reply.setCookie(SESSION_COOKIE, sessionId, { httpOnly: true, sameSite: 'strict', path: '/', secure: request.protocol === 'https' });
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../../contracts/index.js';
import { sendError } from '../http-errors.js';
import { bearerMatches } from './admin-token.js';

/** Roles of docs/operations.md: admin (the bootstrap ADMIN_TOKEN and admin users), officer, viewer. */
export type { Role };

export interface Principal {
  role: Role;
  /** Who it is, for logs and acknowledgements: `admin-token`, or a user's username. */
  subject: string;
  /** A person's display name; absent for the admin token. */
  name?: string;
  /** The one district this principal sees and acts in; null or absent: province-wide (the admin token, admins). */
  districtId?: string | null;
}

/** The session cookie of the dashboard: httpOnly, SameSite=Strict, Path=/, Secure over https; set by POST /api/session. */
export const SESSION_COOKIE = 'fw_session';
/**
 * CSRF guard for cookie-authenticated writes. SameSite=Strict is the main defence; a custom header is a second
 * one, because a cross-site page cannot set it without a CORS preflight, which this server never grants.
 */
export const CSRF_HEADER = 'x-requested-with';
export const CSRF_VALUE = 'frostwatch';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Turns an Authorization header into a principal, or null when it proves nothing. */
export type CredentialResolver = (authorization: string | undefined) => Principal | null | Promise<Principal | null>;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export function adminTokenResolver(adminToken: string): CredentialResolver {
  return (authorization) => (bearerMatches(authorization, adminToken) ? { role: 'admin', subject: 'admin-token' } : null);
}

/**
 * onRequest hook: runs before the body is parsed, so a caller without credentials learns
 * nothing about what a valid request looks like. Needs `decorateRequest('principal', null)`.
 */
export function authenticate(resolve: CredentialResolver) {
  return async function authenticateRequest(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const principal = await resolve(request.headers.authorization);
    if (!principal) return sendError(reply.header('www-authenticate', 'Bearer'), 401, 'missing or invalid bearer token');
    request.principal = principal;
    return undefined;
  };
}

/** Looks a session id (the cookie's value) up; null when unknown, expired or the user is disabled. */
export type SessionResolver = (sessionId: string) => Principal | null;

/**
 * The /api onRequest hook. Accepts exactly two credentials: `Authorization: Bearer <ADMIN_TOKEN>` (role admin)
 * and the session cookie. A request that sends an Authorization header is judged by it alone, so a wrong
 * token is never rescued by a cookie. Cookie-authenticated writes must carry `X-Requested-With: frostwatch`.
 */
export function authenticateApi(options: { adminToken: string; sessions: SessionResolver | null }) {
  const bearer = adminTokenResolver(options.adminToken);
  return async function authenticateApiRequest(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const authorization = request.headers.authorization;
    const sessionId = request.cookies[SESSION_COOKIE];
    if (authorization === undefined && sessionId !== undefined && options.sessions) {
      const principal = options.sessions(sessionId);
      if (!principal) return sendError(reply.clearCookie(SESSION_COOKIE, { path: '/' }), 401, 'session expired; sign in again');
      if (!SAFE_METHODS.has(request.method) && request.headers[CSRF_HEADER] !== CSRF_VALUE) {
        return sendError(reply, 403, `a change made with the session cookie needs the header X-Requested-With: ${CSRF_VALUE}`);
      }
      request.principal = principal;
      return undefined;
    }
    const principal = await bearer(authorization);
    if (!principal) return sendError(reply.header('www-authenticate', 'Bearer'), 401, 'sign in, or send a valid bearer token');
    request.principal = principal;
    return undefined;
  };
}

/** preHandler: the authenticated principal must hold one of `roles`. */
export function requireRole(...roles: Role[]) {
  return async function checkRole(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    if (request.principal && roles.includes(request.principal.role)) return undefined;
    return sendError(reply, 403, `requires role ${roles.join(' or ')}`);
  };
}

export const ANY_ROLE: readonly Role[] = ['admin', 'officer', 'viewer'];

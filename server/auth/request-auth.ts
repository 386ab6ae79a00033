import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../http-errors.js';
import { bearerMatches } from './admin-token.js';

/** Roles of DESIGN.md "HTTP". Only `admin` is issued today (the bootstrap ADMIN_TOKEN). */
export type Role = 'admin' | 'officer' | 'viewer';

export interface Principal {
  role: Role;
  /** Who it is, for logs: `admin-token` now, a user id once users exist. */
  subject: string;
}

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

/** preHandler: the authenticated principal must hold one of `roles`. */
export function requireRole(...roles: Role[]) {
  return async function checkRole(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    if (request.principal && roles.includes(request.principal.role)) return undefined;
    return sendError(reply, 403, `requires role ${roles.join(' or ')}`);
  };
}

export const ANY_ROLE: readonly Role[] = ['admin', 'officer', 'viewer'];

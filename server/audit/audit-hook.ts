import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditActorKind } from '../../contracts/index.js';
import { ADMIN_TOKEN_SUBJECT } from '../auth/users.js';
import type { AuditLog } from './audit-log.js';

/** What a route hands the audit hook: its request and, for JSON answers, the parsed response. */
export interface AuditContext {
  request: FastifyRequest;
  response: unknown;
}

/**
 * A route's audit declaration, in its `config`: `config: { audit: { action: 'station.create' } }`. The hook records
 * the action after a 2xx answer; a refused request (4xx) is recorded only when `failures` is set (sign-in).
 */
export interface AuditSpec {
  action: string;
  /** Record refused attempts too, as outcome `failed`. */
  failures?: boolean;
  /** False: nothing happened (e.g. a keypress other than 1), so nothing is recorded. */
  when?: (request: FastifyRequest) => boolean;
  /** Who acted, when it is not the authenticated principal (sign-in, Twilio). */
  actor?: (ctx: AuditContext) => { kind: AuditActorKind; name: string };
  /** Default: the route's `:id`/`:commune`/`:rowId` parameter, else the `id` of the JSON answer. */
  target?: (ctx: AuditContext) => string | null;
  /** A few facts worth keeping. Never a secret or a whole phone number: mask with maskPhone. */
  details?: (ctx: AuditContext) => Record<string, unknown> | null;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    audit?: AuditSpec;
  }
}

/**
 * Root onSend hook: runs for every route, records those whose config declares `audit`. Without a `done`
 * argument fastify takes the hook's promise as its answer, so the payload goes back resolved.
 */
export function auditHook(log: AuditLog) {
  return function recordAudit(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    recordIfAudited(log, request, reply, payload);
    return Promise.resolve(payload);
  };
}

function recordIfAudited(log: AuditLog, request: FastifyRequest, reply: FastifyReply, payload: unknown): void {
  const spec = request.routeOptions.config.audit;
  if (!spec) return;
  const ok = reply.statusCode >= 200 && reply.statusCode < 300;
  const refused = reply.statusCode >= 400 && reply.statusCode < 500;
  if (!ok && !(refused && spec.failures)) return;
  try {
    if (spec.when && !spec.when(request)) return;
    const ctx: AuditContext = { request, response: parseJson(payload) };
    const actor = spec.actor?.(ctx) ?? principalActor(request);
    log.record({
      actorKind: actor.kind,
      actor: actor.name,
      action: spec.action,
      target: spec.target ? spec.target(ctx) : defaultTarget(ctx),
      outcome: ok ? 'ok' : 'failed',
      statusCode: reply.statusCode,
      remoteAddr: request.ip || null,
      details: spec.details?.(ctx) ?? null,
    });
  } catch (err) {
    // The action has already taken effect; failing its answer would make the caller retry it. Log loudly instead.
    request.log.error({ err, action: spec.action }, 'audit record failed');
  }
}

function principalActor(request: FastifyRequest): { kind: AuditActorKind; name: string } {
  // `principal` is decorated only inside /api; undefined elsewhere.
  const principal = request.principal ?? null;
  if (principal === null) return { kind: 'anonymous', name: 'anonymous' };
  return { kind: principal.subject === ADMIN_TOKEN_SUBJECT ? 'token' : 'user', name: principal.subject };
}

function defaultTarget({ request, response }: AuditContext): string | null {
  const params = (request.params ?? {}) as Record<string, unknown>;
  for (const key of ['id', 'commune', 'rowId']) {
    const value = params[key];
    if (typeof value === 'string' || typeof value === 'number') return String(value);
  }
  const id = isRecord(response) ? response['id'] : undefined;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

function parseJson(payload: unknown): unknown {
  if (typeof payload !== 'string' || payload === '') return null;
  try {
    return JSON.parse(payload) as unknown;
  } catch {
    return null; // TwiML, CSV: nothing to read a target from
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

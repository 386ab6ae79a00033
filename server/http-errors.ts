import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ErrorResponseSchema } from '../contracts/index.js';

/**
 * Every error leaves the API as `{error, message}`: the real message for 4xx (the caller can fix
 * it), a generic one for 5xx (details and stack go to the log only).
 */
const ERROR_NAMES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'too_many_requests',
  503: 'unavailable',
};

export function errorName(statusCode: number): string {
  return ERROR_NAMES[statusCode] ?? (statusCode < 500 ? 'client_error' : 'internal');
}

export function sendError(reply: FastifyReply, statusCode: number, message: string): FastifyReply {
  return reply.code(statusCode).send({ error: errorName(statusCode), message });
}

/** Response schemas for the error codes a route may answer, so /docs lists them. */
export function errorResponses<const C extends number>(...codes: C[]): Record<C, typeof ErrorResponseSchema> {
  return Object.fromEntries(codes.map((code) => [code, ErrorResponseSchema])) as Record<C, typeof ErrorResponseSchema>;
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const where: string = error.validationContext ?? 'request';
      const message = error.validation.map((issue) => describeIssue(where, issue.instancePath, issue.message ?? 'invalid')).join('; ');
      return sendError(reply, 400, message);
    }
    const statusCode = error.statusCode ?? 500;
    if (statusCode >= 400 && statusCode < 500) return sendError(reply, statusCode, clientMessage(error));
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, 500, 'internal error');
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, `no route for ${request.method} ${request.url.split('?')[0] ?? ''}`));
  // No text in frostwatch holds a NUL character, and PostgreSQL cannot store one: refused as what it is, on either
  // registry, before any route sees it (docs/protocol.md, "HTTP API").
  app.addHook('preValidation', (request, reply, done) => {
    const where = nulIn({ query: request.query, params: request.params, body: request.body });
    if (where === null) {
      done();
      return;
    }
    void sendError(reply, 400, `${where}: text must not contain the NUL character`);
  });
}

/** The path of the first string holding U+0000 (keys included), or null; depth-bounded like the bodies themselves. */
function nulIn(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path || 'request' : null;
  if (typeof value !== 'object' || value === null || depth > 32) return null;
  for (const [key, item] of Object.entries(value)) {
    const at = path === '' ? key : `${path}.${key}`;
    if (key.includes('\u0000')) return at;
    const found = nulIn(item, at, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

/** `body` + `/lat` → `body.lat: …`; an issue on the whole body stays `body: …`. */
function describeIssue(context: string, instancePath: string, message: string): string {
  const path = instancePath.split('/').filter((part) => part !== '');
  const last = path.at(-1);
  // Contract messages often name their field already ("every: e.g. 5m"); do not say it twice.
  const text = last !== undefined && message.startsWith(`${last}: `) ? message.slice(last.length + 2) : message;
  return `${[context, ...path].join('.')}: ${text}`;
}

function clientMessage(error: FastifyError): string {
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return 'body: not valid JSON';
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'body: empty, a JSON object is expected';
  return error.message;
}

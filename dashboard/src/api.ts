import { ErrorResponseSchema } from '../../contracts/api.js';
import type { Me } from '../../contracts/dashboard.js';

/** A failed request, carrying the server's `{error, message}` so forms can show it as is. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Body = unknown;

/** Sign-in and sign-out (endpoints.ts): a 401 there is a wrong password, not a session gone. */
export const SESSION_PATH = '/api/session';

/** The `{error, message}` of a failed answer, as far as it has them (a proxy's error page has neither). */
const ErrorBodySchema = ErrorResponseSchema.partial();

/**
 * Same-origin fetch: the session cookie rides along; mutations carry the CSRF header the server demands. The answer
 * is `unknown` until a contract schema checks it (endpoints.ts): nothing here claims what the server sent.
 */
export async function api(method: string, path: string, body?: Body, contentType = 'application/json'): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-requested-with'] = 'frostwatch';
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = contentType;
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const init: RequestInit = { method, headers, body: payload, credentials: 'same-origin' };
  let answer = await exchange(path, init).catch(async (err: unknown) => {
    if (method !== 'GET') throw err;
    return retryLater(path, init);
  });
  if (method === 'GET' && BALANCER_ERRORS.has(answer.status)) answer = await retryLater(path, init);
  if (answer.status === 401 && path !== SESSION_PATH) onUnauthorized();
  const json: unknown = answer.text === '' ? null : safeJson(answer.text);
  if (answer.status < 200 || answer.status > 299) {
    const parsed = ErrorBodySchema.safeParse(json);
    const err = parsed.success ? parsed.data : {};
    throw new ApiError(answer.status, err.error ?? 'http_error', err.message ?? `${answer.status} ${answer.statusText}`);
  }
  return json;
}

/**
 * A read whose connection broke (on a cluster, the server answering it died: docs/scale-out.md) or that a balancer
 * answered 502–504 is asked once more, after a moment, and another server answers. Reads only: a write is never
 * repeated, since it may have been done.
 */
const RETRY_READ_AFTER_MS = 250;
const BALANCER_ERRORS = new Set([502, 503, 504]);

interface Answer {
  status: number;
  statusText: string;
  text: string;
}

async function exchange(path: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(path, init);
  return { status: response.status, statusText: response.statusText, text: await response.text() };
}

async function retryLater(path: string, init: RequestInit): Promise<Answer> {
  await new Promise((resolve) => setTimeout(resolve, RETRY_READ_AFTER_MS));
  return exchange(path, init);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: 'bad_response', message: text.slice(0, 200) };
  }
}

let unauthorizedListener: () => void = () => {};
/** The app drops back to the sign-in page when any call finds the session gone. */
export function setUnauthorizedListener(listener: () => void): void {
  unauthorizedListener = listener;
}
function onUnauthorized(): void {
  unauthorizedListener();
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export const canWrite = (me: Me | null): boolean => me !== null && me.role !== 'viewer';
export const isAdmin = (me: Me | null): boolean => me?.role === 'admin';

import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendError } from '../http-errors.js';

export interface StaticRoutesOptions {
  /** The built dashboard (`npm run build:dashboard` writes dashboard/dist). */
  root: string;
}

/**
 * The repository's dashboard/dist, found by walking up to package.json: the same answer whether this
 * module runs from server/routes (vitest) or dist/server/routes (the compiled server).
 */
export function defaultDashboardDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return join(dir, 'dashboard', 'dist');
}

/** A regular file under root, or null: `..` and symlink tricks cannot step outside it. */
function fileUnder(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const full = resolve(root, `.${decoded}`);
  if (!full.startsWith(root + sep)) return null;
  try {
    return statSync(full).isFile() ? full.slice(root.length + 1) : null;
  } catch {
    return null;
  }
}

/**
 * Serves the officers' dashboard at `/`. Files are looked up per request (not globbed at start), so a
 * rebuild needs no restart; any other GET outside /api gets index.html, the single-page app's
 * entry. Hashed assets are cached for a year; index.html never, so a new build shows at once.
 */
export function staticRoutes(options: StaticRoutesOptions): FastifyPluginAsync {
  const root = resolve(options.root);
  return async (app) => {
    // serve: false — only reply.sendFile (with @fastify/send's range, ETag and path checks); routing is ours.
    await app.register(fastifyStatic, { root, serve: false });

    const sendIndex = (reply: FastifyReply): FastifyReply => {
      if (!existsSync(join(root, 'index.html'))) {
        return sendError(reply, 503, 'dashboard not built: run `npm run build:dashboard`').header('cache-control', 'no-store');
      }
      return reply.header('cache-control', 'no-cache').sendFile('index.html', root, { cacheControl: false });
    };

    app.get('/', { schema: { hide: true } }, async (_request, reply) => sendIndex(reply));
    app.get('/*', { schema: { hide: true } }, async (request, reply) => {
      const path = request.url.split('?')[0] ?? '/';
      // An unknown API path is an API error, never the HTML page a fetch() would choke on.
      if (path === '/api' || path.startsWith('/api/')) return sendError(reply, 404, `no route for ${request.method} ${path}`);
      const file = fileUnder(root, path);
      if (file === null) return sendIndex(reply);
      const immutable = file.startsWith(`assets${sep}`);
      return reply
        .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
        .sendFile(file, root, { cacheControl: false });
    });
  };
}

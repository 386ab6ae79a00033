import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

type ZodApp = Parameters<FastifyPluginAsyncZod>[0];

/**
 * A plugin that only declares routes and hooks, with nothing to wait for. Fastify still gets a promise, and a
 * declaration that throws (a duplicate route) rejects it, as it would the promise of an async plugin.
 */
export function routesPlugin(declare: (app: ZodApp) => void): FastifyPluginAsyncZod {
  return (app) =>
    new Promise<void>((resolve) => {
      declare(app);
      resolve();
    });
}

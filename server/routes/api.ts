import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppDeps } from '../app.js';
import { adminTokenResolver, authenticate } from '../auth/request-auth.js';
import { alertRoutes } from './alerts.js';
import { modelRoutes } from './model.js';
import { peopleRoutes } from './people.js';
import { readingsRoutes } from './readings.js';
import { stationRoutes } from './stations.js';

/** Everything under /api: one authentication hook, then the areas. Read routes accept any role. */
export function apiRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.decorateRequest('principal', null);
    app.addHook('onRequest', authenticate(adminTokenResolver(deps.adminToken)));
    await app.register(stationRoutes(deps));
    await app.register(readingsRoutes(deps));
    if (deps.alerting) {
      await app.register(peopleRoutes(deps.alerting));
      await app.register(alertRoutes({ ...deps.alerting, clock: deps.clock }));
      await app.register(modelRoutes({ ...deps.alerting, clock: deps.clock }));
    }
  };
}

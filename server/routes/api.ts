import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DEFAULT_TIME_ZONE, UiConfigSchema } from '../../contracts/index.js';
import type { AppDeps } from '../app-deps.js';
import { authenticateApi } from '../auth/request-auth.js';
import { alertRoutes } from './alerts.js';
import { auditRoutes } from './audit.js';
import { dashboardRoutes } from './dashboard.js';
import { districtRoutes } from './districts.js';
import { integrationRoutes } from './integrations.js';
import { modelRoutes } from './model.js';
import { peopleRoutes } from './people.js';
import { readingsRoutes } from './readings.js';
import { seasonRoutes } from './season.js';
import { sessionRoutes } from './session.js';
import { stationRoutes } from './stations.js';
import { userRoutes } from './users.js';

/**
 * Everything under /api but sign-in: one authentication hook (admin token or session cookie), then the areas.
 * Read routes accept any role; each write names the roles it allows.
 */
export function apiRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const auth = deps.auth ?? null;
    app.decorateRequest('principal', null);
    app.addHook('onRequest', authenticateApi({ adminToken: deps.adminToken, sessions: auth && ((id) => sessionPrincipal(auth, id)) }));
    const districtName = (id: string): string => deps.stations.districts.nameOf(id);
    await app.register(sessionRoutes({ auth, districtName }));
    if (auth) await app.register(userRoutes({ users: auth.users, districtName }));
    await app.register(districtRoutes({ districts: deps.stations.districts }));
    await app.register(stationRoutes(deps));
    await app.register(readingsRoutes(deps));
    app.get(
      '/ui-config',
      {
        schema: {
          summary: 'Dashboard settings: the map tile URL (null: no tiles, stations on a plain map) and the farms’ time zone (TZ_NAME)',
          tags: ['system'],
          response: { 200: UiConfigSchema },
        },
      },
      () => ({
        tileUrl: deps.tileUrl ?? null,
        timeZone: deps.timeZone ?? DEFAULT_TIME_ZONE,
        clock: { nowMs: deps.clock.now(), speed: deps.clock.speed },
      }),
    );
    if (deps.warnings) {
      await app.register(peopleRoutes(deps.warnings));
      await app.register(
        alertRoutes({ ...deps.warnings, clock: deps.clock, stationDistrict: (id) => deps.stations.get(id)?.districtId ?? null }),
      );
      await app.register(modelRoutes({ ...deps.warnings, clock: deps.clock }));
      await app.register(seasonRoutes({ ...deps.warnings.season, people: deps.warnings.people, stations: deps.stations }));
    }
    if (deps.dashboard) await app.register(dashboardRoutes(deps.dashboard, (id) => deps.stations.get(id)?.districtId ?? null));
    if (deps.audit) await app.register(auditRoutes({ audit: deps.audit }));
    if (deps.integrations) await app.register(integrationRoutes({ integrations: deps.integrations }));
  };
}

function sessionPrincipal(auth: NonNullable<AppDeps['auth']>, sessionId: string) {
  const user = auth.userForSession(sessionId);
  return user
    ? { role: user.role, subject: user.username, name: user.name, districtId: user.role === 'admin' ? null : user.districtId }
    : null;
}

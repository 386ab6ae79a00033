import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock, Health, ReadingOut, StationId } from '../contracts/index.js';
import { registerErrorHandlers } from './http-errors.js';
import { DEFAULT_HTTP_RATE_LIMITS, type HttpRateLimits, registerRateLimits } from './http-limits.js';
import { registerSecurityHeaders } from './security-headers.js';
import type { AuditLog } from './audit/audit-log.js';
import { auditHook } from './audit/audit-hook.js';
import type { UserAuth } from './auth/sessions.js';
import type { StationRepository } from './registry/stations.js';
import type { AlertStore } from './alerts/alert-store.js';
import type { PeopleRepository } from './registry/people.js';
import type { Dashboard } from './dashboard/dashboard.js';
import type { DeliveryView } from './alerts/deliveries.js';
import type { ModelRoutesDeps } from './routes/model.js';
import { apiRoutes } from './routes/api.js';
import { defaultDashboardDir, staticRoutes } from './routes/static.js';
import { loginRoutes } from './routes/session.js';
import { type TwilioRouteDeps, twilioRoutes } from './routes/twilio.js';
import { systemRoutes } from './routes/system.js';

/** Reads readings back from storage (InfluxDB). `every` is an InfluxQL interval such as `5m`. */
export interface ReadingsStore {
  query(stationId: StationId, q: { fromMs: number; toMs: number; every?: string }): Promise<ReadingOut[]>;
}

/** What ingest knows about a station's traffic; both null when it was never heard from. */
export interface StationActivity {
  get(id: string): { lastSeenAt: number | null; online: boolean | null };
}

/** The alerting areas; absent in tests that exercise only the registry and readings. */
export interface AlertingDeps {
  people: PeopleRepository;
  alerts: AlertStore;
  deliveries: DeliveryView;
  twilio: TwilioRouteDeps;
  fitModel: ModelRoutesDeps['fitModel'];
  setRuleOverrides: ModelRoutesDeps['setRuleOverrides'];
}

export interface AppDeps {
  logger: Logger;
  clock: Clock;
  stations: StationRepository;
  readings: ReadingsStore;
  activity: StationActivity;
  health: () => Promise<Health>;
  metrics: Registry;
  adminToken: string;
  alerting?: AlertingDeps;
  /** The officers' dashboard data (overview, events, charts, reports); absent in registry-only tests. */
  dashboard?: Dashboard;
  /** Users and sessions (dashboard sign-in); absent → only the admin token is accepted. */
  auth?: UserAuth;
  /** The built dashboard (dashboard/dist by default). */
  dashboardDir?: string;
  /** MAP_TILE_URL: the dashboard's map tiles, or none. */
  tileUrl?: string | null;
  /** TZ_NAME: the farms' time zone, in which the dashboard shows every time (default Asia/Ho_Chi_Minh). */
  timeZone?: string;
  /** Certificate and key (TLS_CERT_FILE, TLS_KEY_FILE): serve HTTPS instead of HTTP; session cookies get Secure. */
  https?: { cert: Buffer; key: Buffer } | null;
  /** The audit log of people's actions (routes declare `config.audit`); absent → nothing recorded, no GET /api/audit. */
  audit?: AuditLog;
  /** Told of every route as it is registered: the access-matrix and audit tests check that none is left undecided. */
  onRoute?: (route: RouteOptions) => void;
  /** Per-address request limits; each one not given is DEFAULT_HTTP_RATE_LIMITS' (server/http-limits.ts). */
  rateLimits?: Partial<HttpRateLimits>;
  /** HTTP_TRUSTED_PROXIES: proxies whose X-Forwarded-For is believed; absent → the socket's address counts. */
  trustedProxies?: string;
}

/** The HTTP app as one unit; it never listens (main does), so tests drive it with `inject`. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // Fastify's request serializer omits headers; redaction guards any log line that adds them.
  // Typed as the base logger so the instance matches the plain `FastifyInstance` other modules expect.
  const loggerInstance: FastifyBaseLogger = deps.logger.child(
    { module: 'http' },
    { redact: ['req.headers.authorization', 'headers.authorization', 'req.headers.cookie', 'headers.cookie'] },
  );
  // Typed as the plain-HTTP instance: fastify's https overload differs only in the raw server type, which no route uses.
  // Behind a trusted proxy, request.ip (what rate limits count by) is the client's address from X-Forwarded-For.
  const trustProxy = deps.trustedProxies ?? false;
  const app = deps.https
    ? (Fastify({ loggerInstance, trustProxy, https: deps.https }) as unknown as FastifyInstance)
    : Fastify({ loggerInstance, trustProxy });
  if (deps.onRoute) app.addHook('onRoute', deps.onRoute);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandlers(app);
  // At the root, before any route: every route that declares `config.audit` is recorded after its answer.
  if (deps.audit) app.addHook('onSend', auditHook(deps.audit));
  // Both before any route: each hooks the routes as they are added.
  await registerSecurityHeaders(app, { tileUrl: deps.tileUrl });
  await registerRateLimits(app, { ...DEFAULT_HTTP_RATE_LIMITS, ...deps.rateLimits }, deps.metrics);

  await app.register(swagger, {
    openapi: {
      info: { title: 'frostwatch', description: 'Frost early warning for coffee farms in Lạc Dương', version: '1' },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: 'fw_session' } },
      },
      security: [],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(cookie);

  await app.register(systemRoutes(deps));
  await app.register(staticRoutes({ root: deps.dashboardDir ?? defaultDashboardDir() }));
  await app.register(apiRoutes(deps), { prefix: '/api' });
  // Sign-in is how one gets authenticated: outside the /api auth hook.
  if (deps.auth) await app.register(loginRoutes({ auth: deps.auth }), { prefix: '/api' });
  // Twilio authenticates by signature, not by bearer token: outside the /api auth hook.
  if (deps.alerting) await app.register(twilioRoutes(deps.alerting.twilio), { prefix: '/api/twilio' });
  return app;
}

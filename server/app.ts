import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { registerErrorHandlers } from './http-errors.js';
import { DEFAULT_HTTP_RATE_LIMITS, registerRateLimits } from './http-limits.js';
import { registerSecurityHeaders } from './security-headers.js';
import { auditHook } from './audit/audit-hook.js';
import { apiRoutes } from './routes/api.js';
import { defaultDashboardDir, staticRoutes } from './routes/static.js';
import { loginRoutes } from './routes/session.js';
import { twilioRoutes } from './routes/twilio.js';
import { systemRoutes } from './routes/system.js';

import type { AppDeps } from './app-deps.js';

export type { WarningDeps, AppDeps, ReadingsStore, StationActivity } from './app-deps.js';

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
  await registerRateLimits(app, { ...DEFAULT_HTTP_RATE_LIMITS, ...deps.rateLimits }, deps.metrics, deps.rateLimitStore);

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
  if (deps.warnings) await app.register(twilioRoutes(deps.warnings.twilio), { prefix: '/api/twilio' });
  return app;
}

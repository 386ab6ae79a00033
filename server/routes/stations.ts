import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  ErrorResponseSchema,
  isLorawan,
  STATION_IMPORT_MAX,
  StationCreateSchema,
  StationCredentialsSchema,
  StationIdSchema,
  StationImportErrorSchema,
  StationImportResultSchema,
  StationImportSchema,
  StationSchema,
  type Station,
  type StationCreate,
} from '../../contracts/index.js';
import { intervalDownlink } from '../../gateway/sources/lorawan/downlink.js';
import type { AppDeps, StationActivity, StationRefusalsView } from '../app-deps.js';
import { isRecord } from '../audit/audit-hook.js';
import { requireRole } from '../auth/request-auth.js';
import { districtOf, seesDistrict } from '../auth/district-scope.js';
import { errorName, errorResponses, sendError } from '../http-errors.js';
import type { ImportCandidate, StationRecord } from '../registry/stations.js';
import { routesPlugin } from './routes-plugin.js';

export const StationParamsSchema = z.object({ id: StationIdSchema });

/** A station sent as JSON is ~200 bytes, ~400 with a device and a field map: 20,000 of them fit in 8 MiB. */
const IMPORT_BODY_LIMIT = 8 * 1024 * 1024;

/** The body's outline alone, so one bad station is reported as its own line instead of failing the whole body. */
const ImportOutlineSchema = z.object({ stations: z.array(z.unknown()).min(1).max(STATION_IMPORT_MAX) });

/** `/api/stations…`: the registry. Authentication is done by the enclosing /api plugin. */
export function stationRoutes(deps: Pick<AppDeps, 'stations' | 'activity' | 'refusals'>): FastifyPluginAsyncZod {
  const { stations, activity, refusals } = deps;
  return routesPlugin((app) => {
    app.post(
      '/stations',
      {
        preHandler: requireRole('admin'),
        config: {
          audit: {
            action: 'station.create',
            details: ({ request }) => ({ commune: (request.body as { commune?: unknown }).commune ?? null }),
          },
        },
        schema: {
          summary: 'Register a station; the answer holds its MQTT token, shown only this once',
          tags: ['stations'],
          body: StationCreateSchema,
          response: { 201: StationCredentialsSchema, ...errorResponses(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const result = await stations.create(request.body);
        if (!result.ok && result.reason === 'unknown_district')
          return sendError(reply, 400, `body.districtId: unknown district ${request.body.districtId ?? ''}`);
        if (!result.ok)
          return sendError(
            reply,
            409,
            result.reason === 'exists'
              ? `station ${request.body.id} already exists`
              : `device ${request.body.deviceId ?? ''} (${request.body.source ?? 'native'}) is already another station's`,
          );
        request.log.info({ stationId: result.station.id }, 'station registered');
        return reply.code(201).send({ id: result.station.id, token: result.token });
      },
    );

    app.post(
      '/stations/import',
      {
        preHandler: requireRole('admin'),
        bodyLimit: IMPORT_BODY_LIMIT,
        // The handler judges each station itself, to answer every bad one by its index.
        attachValidation: true,
        config: {
          audit: {
            action: 'station.import',
            target: () => null,
            details: ({ response }) => (isRecord(response) ? { created: response['created'] } : null),
          },
        },
        schema: {
          summary: `Register up to ${STATION_IMPORT_MAX} stations at once, all or none; the answer holds their MQTT tokens, shown only this once`,
          tags: ['stations'],
          body: StationImportSchema,
          response: {
            201: StationImportResultSchema,
            // Stations refused by line; or, from the error handler, a body that is not JSON at all.
            400: StationImportErrorSchema.or(ErrorResponseSchema),
            409: StationImportErrorSchema,
            ...errorResponses(401, 403, 413),
          },
        },
      },
      async (request, reply) => {
        const candidates = request.validationError ? importCandidates(request.body) : allValid(request.body.stations);
        // Not a list of stations at all: the plain error every route answers; `lines` only name refused stations.
        if (!Array.isArray(candidates)) return sendError(reply, 400, candidates.message);
        const result = stations.createMany(candidates);
        if (!result.ok) {
          const code = result.kind === 'conflict' ? 409 : 400;
          const message = `${result.problems.length} of ${candidates.length} stations refused; nothing was registered`;
          return reply.code(code).send({ error: errorName(code), message, lines: result.problems });
        }
        request.log.info({ created: result.created.length }, 'stations imported');
        const tokens = result.created.map(({ station, token }) => ({ id: station.id, token }));
        return reply.code(201).send({ created: tokens.length, tokens });
      },
    );

    app.get(
      '/stations',
      {
        schema: {
          summary: "All stations (of the caller's district, for a district user)",
          tags: ['stations'],
          response: { 200: z.array(StationSchema), ...errorResponses(401) },
        },
      },
      (request) => {
        const own = districtOf(request);
        return stations
          .list()
          .filter((record) => own === null || record.districtId === own)
          .map((record) => toApiStation(record, activity, refusals));
      },
    );

    app.get(
      '/stations/:id',
      {
        schema: {
          summary: 'One station',
          tags: ['stations'],
          params: StationParamsSchema,
          response: { 200: StationSchema, ...errorResponses(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const record = stations.get(request.params.id);
        if (!record || !seesDistrict(request, record.districtId)) return sendError(reply, 404, `station ${request.params.id} not found`);
        return toApiStation(record, activity, refusals);
      },
    );

    app.post(
      '/stations/:id/token',
      {
        preHandler: requireRole('admin'),
        config: { audit: { action: 'station.token.rotate' } },
        schema: {
          summary: 'Issue a new MQTT token; the old one is refused from now on',
          tags: ['stations'],
          params: StationParamsSchema,
          response: { 200: StationCredentialsSchema, ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        const token = await stations.rotateToken(request.params.id);
        if (token === null) return sendError(reply, 404, `station ${request.params.id} not found`);
        request.log.info({ stationId: request.params.id }, 'station token rotated');
        return { id: request.params.id, token };
      },
    );

    app.delete(
      '/stations/:id/token',
      {
        preHandler: requireRole('admin'),
        config: { audit: { action: 'station.token.revoke' } },
        schema: {
          summary: 'Revoke the MQTT token: the station is disconnected and refused until a new token is issued (POST …/token)',
          tags: ['stations'],
          params: StationParamsSchema,
          response: { 204: z.null(), ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        if (!stations.revokeToken(request.params.id)) return sendError(reply, 404, `station ${request.params.id} not found`);
        request.log.warn({ stationId: request.params.id }, 'station token revoked');
        return reply.code(204).send(null);
      },
    );
  });
}

const allValid = (list: StationCreate[]): ImportCandidate[] => list.map((station) => ({ ok: true, station }));

/** Each station of a body that failed as a whole, judged alone; or what is wrong with the body itself. */
function importCandidates(body: unknown): ImportCandidate[] | { message: string } {
  const outline = ImportOutlineSchema.safeParse(body);
  if (!outline.success) return { message: outline.error.issues.map((i) => `body.${i.path.join('.')}: ${i.message}`).join('; ') };
  return outline.data.stations.map((raw): ImportCandidate => {
    const parsed = StationCreateSchema.safeParse(raw);
    if (parsed.success) return { ok: true, station: parsed.data };
    const id = isRecord(raw) && typeof raw['id'] === 'string' ? raw['id'].slice(0, 100) : undefined;
    const reason = parsed.error.issues.map((i) => `${i.path.join('.') || 'station'}: ${i.message}`).join('; ');
    return { ok: false, ...(id === undefined ? {} : { id }), reason };
  });
}

export function toApiStation(record: StationRecord, activity: StationActivity, refusals?: StationRefusalsView): Station {
  const seen = activity.get(record.id);
  return {
    id: record.id,
    name: record.name,
    commune: record.commune,
    lat: record.lat,
    lon: record.lon,
    elevationM: record.elevationM,
    crop: record.crop,
    districtId: record.districtId,
    source: record.source,
    deviceId: record.deviceId,
    preset: record.preset,
    fieldMap: record.fieldMap,
    createdAt: new Date(record.createdAt).toISOString(),
    lastSeenAt: seen.lastSeenAt === null ? null : new Date(seen.lastSeenAt).toISOString(),
    online: seen.online,
    sampling: samplingOf(record),
    refused: (refusals?.of(record.id) ?? []).map((r) => ({ reason: r.reason, count: r.count, lastAt: new Date(r.lastAtMs).toISOString() })),
  };
}

/** How the engine's sampling interval reaches this station's device (docs/devices.md). */
function samplingOf(record: StationRecord): Station['sampling'] {
  if (record.source === 'native') return 'config_topic';
  if (isLorawan(record.source) && intervalDownlink(record.preset, { intervalS: 60 }) !== null) return 'downlink';
  return 'not_applicable';
}

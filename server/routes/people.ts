import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  CommuneParamsSchema,
  CommuneStationSchema,
  CommuneStationSetSchema,
  FarmerCreateSchema,
  FarmerIdParamsSchema,
  FarmerImportBodySchema,
  FarmerImportReportSchema,
  FarmerSchema,
  maskPhone,
  OfficerCreateSchema,
  OfficerSchema,
  OptOutEventSchema,
  OptOutSetSchema,
  type Farmer,
  type Officer,
} from '../../contracts/index.js';
import { type AuditContext, isRecord } from '../audit/audit-hook.js';
import { requireRole } from '../auth/request-auth.js';
import { districtOf, seesDistrict } from '../auth/district-scope.js';
import { communeKey } from '../registry/people-rows.js';
import { errorResponses, sendError } from '../http-errors.js';
import type { FarmerRecord, OfficerRecord, PeopleError, PeopleRepository } from '../registry/people.js';
import type { FarmerChoices } from '../warnings/farmer-choices.js';
import { routesPlugin } from './routes-plugin.js';

export interface PeopleRouteDeps {
  people: PeopleRepository;
  /** Farmers' choices; the officer's opt-out on the farmer's page goes through them (confirmation SMS, audit). */
  choices?: Pick<FarmerChoices, 'apply' | 'history'>;
}

/** A farmer list of a few thousand rows is ~200 kB; 2 MB leaves room without inviting abuse. */
const CSV_BODY_LIMIT = 2 * 1024 * 1024;

/**
 * `/api/farmers…`, `/api/communes/…`, `/api/officers`: the people frostwatch warns. Writes need the admin or
 * officer role (officers keep the farmer lists of their communes), reads any role; the viewer role sees phones masked. Authentication is done by the enclosing /api plugin.
 */
export function peopleRoutes(deps: PeopleRouteDeps): FastifyPluginAsyncZod {
  const { people } = deps;
  return routesPlugin((app) => {
    // Officers paste a spreadsheet export; scoped to this plugin, so only these routes accept CSV.
    app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: CSV_BODY_LIMIT }, (_request, body, done) =>
      done(null, body),
    );

    app.post(
      '/farmers',
      {
        preHandler: requireRole('admin', 'officer'),
        config: { audit: { action: 'farmer.create', details: maskedPhoneOfBody } },
        schema: {
          summary: 'Register a farmer; the phone may be E.164 or a Vietnamese local form such as "0912 345 678"',
          tags: ['people'],
          body: FarmerCreateSchema,
          response: { 201: FarmerSchema, ...errorResponses(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const districtId = ownDistrictFor(request, reply, request.body.districtId);
        if (districtId === false) return reply;
        const result = people.createFarmer(districtId === undefined ? request.body : { ...request.body, districtId });
        if (!result.ok) return sendPeopleError(reply, result);
        request.log.info({ farmerId: result.farmer.id, phoneMasked: maskPhone(result.farmer.phone) }, 'farmer registered');
        return reply.code(201).send(toApiFarmer(result.farmer, request));
      },
    );

    app.get(
      '/farmers',
      {
        schema: { summary: 'All farmers', tags: ['people'], response: { 200: z.array(FarmerSchema), ...errorResponses(401) } },
      },
      (request) =>
        people
          .listFarmers()
          .filter((farmer) => seesDistrict(request, farmer.districtId))
          .map((farmer) => toApiFarmer(farmer, request)),
    );

    app.get(
      '/farmers/:id',
      {
        schema: {
          summary: 'One farmer',
          tags: ['people'],
          params: FarmerIdParamsSchema,
          response: { 200: FarmerSchema, ...errorResponses(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const farmer = people.getFarmer(request.params.id);
        if (!farmer || !seesDistrict(request, farmer.districtId)) return sendError(reply, 404, `farmer ${request.params.id} not found`);
        return toApiFarmer(farmer, request);
      },
    );

    app.put(
      '/farmers/:id/opt-out',
      {
        preHandler: requireRole('admin', 'officer'),
        schema: {
          summary:
            "Stop (optedOut: true) or resume a farmer's warnings on their behalf — for phones that cannot reply by SMS. The farmer gets one confirmation SMS; the audit log keeps who and when",
          tags: ['people'],
          params: FarmerIdParamsSchema,
          body: OptOutSetSchema,
          response: { 200: FarmerSchema, ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        if (!deps.choices) return sendError(reply, 404, 'farmer choices are not available on this server');
        const farmer = people.getFarmer(request.params.id);
        if (!farmer || !seesDistrict(request, farmer.districtId)) return sendError(reply, 404, `farmer ${request.params.id} not found`);
        const result = deps.choices.apply(request.params.id, request.body.optedOut ? 'stop' : 'start', 'officer', {
          kind: 'user',
          name: request.principal?.subject ?? 'unknown',
          remoteAddr: request.ip,
        });
        if (!result) return sendError(reply, 404, `farmer ${request.params.id} not found`);
        return toApiFarmer(result.farmer, request);
      },
    );

    app.get(
      '/opt-outs',
      {
        schema: {
          summary: 'Who stopped or resumed their warnings, how (sms, keypress, officer) and when, newest first',
          tags: ['people'],
          response: { 200: z.array(OptOutEventSchema), ...errorResponses(401) },
        },
      },
      (request) =>
        (deps.choices?.history() ?? []).flatMap((e) => {
          const farmer = people.getFarmer(e.farmerId);
          // A removed farmer's district is no longer known: only province-wide users see those lines.
          if (farmer ? !seesDistrict(request, farmer.districtId) : districtOf(request) !== null) return [];
          return [{ ...e, at: new Date(e.at).toISOString(), farmerName: farmer?.name ?? null }];
        }),
    );

    app.delete(
      '/farmers/:id',
      {
        preHandler: requireRole('admin', 'officer'),
        config: { audit: { action: 'farmer.delete' } },
        schema: {
          summary: 'Remove a farmer with their subscriptions and escalation chain',
          tags: ['people'],
          params: FarmerIdParamsSchema,
          response: { 204: z.null().describe('removed'), ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        const farmer = people.getFarmer(request.params.id);
        if (!farmer || !seesDistrict(request, farmer.districtId) || !people.deleteFarmer(request.params.id))
          return sendError(reply, 404, `farmer ${request.params.id} not found`);
        request.log.info({ farmerId: request.params.id }, 'farmer removed');
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/farmers/import',
      {
        preHandler: requireRole('admin', 'officer'),
        config: {
          audit: {
            action: 'farmer.import',
            details: ({ response }) =>
              isRecord(response) ? { created: response['created'], updated: response['updated'], failed: response['failed'] } : null,
          },
        },
        schema: {
          summary: 'Import a farmer list (CSV). Good rows are saved, bad rows reported by line; a known phone updates that farmer',
          tags: ['people'],
          body: FarmerImportBodySchema,
          response: { 200: FarmerImportReportSchema, ...errorResponses(400, 401, 403, 413, 415) },
        },
      },
      async (request, reply) => {
        const text = typeof request.body === 'string' ? request.body : request.body.csv;
        const result = people.importFarmersCsv(text, districtOf(request) ?? undefined);
        if (!result.ok) return sendError(reply, 400, result.message);
        const { created, updated, failed } = result.report;
        request.log.info({ created, updated, failed }, 'farmer list imported');
        return result.report;
      },
    );

    app.put(
      '/communes/:commune/station',
      {
        preHandler: requireRole('admin', 'officer'),
        config: {
          audit: {
            action: 'commune.station.set',
            details: ({ response }) => (isRecord(response) ? { stationId: response['stationId'], offsetC: response['offsetC'] } : null),
          },
        },
        schema: {
          summary: "Set a commune's representative station, for its farmers without a station of their own",
          tags: ['people'],
          params: CommuneParamsSchema,
          body: CommuneStationSetSchema,
          response: { 200: CommuneStationSchema, ...errorResponses(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const stationDistrict = people.stationDistrict(request.body.stationId);
        if (stationDistrict === null || !seesDistrict(request, stationDistrict))
          return sendError(reply, 400, `unknown station ${request.body.stationId}`);
        // A commune another district's station represents is not this district officer's to move.
        const key = communeKey(request.params.commune);
        const current = people.communeStations().find((c) => communeKey(c.commune) === key);
        const currentDistrict = current === undefined ? null : people.stationDistrict(current.stationId);
        if (currentDistrict !== null && !seesDistrict(request, currentDistrict))
          return sendError(reply, 403, `commune ${request.params.commune} belongs to another district`);
        const result = people.setCommuneStation(request.params.commune, request.body.stationId, request.body.offsetC);
        if (!result.ok) return sendPeopleError(reply, result);
        request.log.info({ commune: result.communeStation.commune, stationId: result.communeStation.stationId }, 'commune station set');
        return result.communeStation;
      },
    );

    app.get(
      '/communes',
      {
        schema: {
          summary: "Communes' representative stations",
          tags: ['people'],
          response: { 200: z.array(CommuneStationSchema), ...errorResponses(401) },
        },
      },
      (request) =>
        people.communeStations().filter((c) => {
          const districtId = people.stationDistrict(c.stationId);
          return districtId !== null && seesDistrict(request, districtId);
        }),
    );

    app.post(
      '/officers',
      {
        preHandler: requireRole('admin', 'officer'),
        config: { audit: { action: 'officer.create', details: maskedPhoneOfBody } },
        schema: {
          summary: 'Register an agriculture officer (station health notices, end of every escalation chain)',
          tags: ['people'],
          body: OfficerCreateSchema,
          response: { 201: OfficerSchema, ...errorResponses(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const districtId = ownDistrictFor(request, reply, request.body.districtId);
        if (districtId === false) return reply;
        const result = people.createOfficer(districtId === undefined ? request.body : { ...request.body, districtId });
        if (!result.ok) return sendPeopleError(reply, result);
        request.log.info({ officerId: result.officer.id, phoneMasked: maskPhone(result.officer.phone) }, 'officer registered');
        return reply.code(201).send(toApiOfficer(result.officer, request));
      },
    );

    app.get(
      '/officers',
      {
        schema: { summary: 'All officers', tags: ['people'], response: { 200: z.array(OfficerSchema), ...errorResponses(401) } },
      },
      (request) =>
        people
          .officers()
          .filter((officer) => seesDistrict(request, officer.districtId))
          .map((officer) => toApiOfficer(officer, request)),
    );
  });
}

/**
 * The district a district user's new farmer or officer goes to: their own (naming another is refused with 403, and
 * false is returned after the answer is sent). A province-wide caller's choice stands (undefined: the default).
 */
function ownDistrictFor(request: FastifyRequest, reply: FastifyReply, requested: string | undefined): string | undefined | false {
  const own = districtOf(request);
  if (own === null) return requested;
  if (requested !== undefined && requested !== own) {
    sendError(reply, 403, `districtId: you act in district ${own} only`);
    return false;
  }
  return own;
}

/** The audit keeps which number was registered (E.164, from the answer), masked like every log line. */
function maskedPhoneOfBody({ response }: AuditContext): Record<string, unknown> {
  const phone = isRecord(response) && typeof response['phone'] === 'string' ? response['phone'] : '';
  return { phone: maskPhone(phone) };
}

/** An unknown station named in a body is a bad reference (400), not a missing resource (404); a taken phone is a conflict. */
function sendPeopleError(reply: FastifyReply, error: PeopleError): FastifyReply {
  return sendError(reply, error.reason === 'phone_exists' ? 409 : 400, error.message);
}

/** Admins and officers call these people; a viewer (a dashboard on a wall) does not need their numbers. */
function phoneFor(phone: string, request: FastifyRequest): string {
  return request.principal?.role === 'admin' || request.principal?.role === 'officer' ? phone : maskPhone(phone);
}

export function toApiFarmer(farmer: FarmerRecord, request: FastifyRequest): Farmer {
  return {
    ...farmer,
    phone: phoneFor(farmer.phone, request),
    contacts: farmer.contacts.map((c) => ({ ...c, phone: phoneFor(c.phone, request) })),
    createdAt: new Date(farmer.createdAt).toISOString(),
    optedOutAt: farmer.optedOutAt === null ? null : new Date(farmer.optedOutAt).toISOString(),
  };
}

function toApiOfficer(officer: OfficerRecord, request: FastifyRequest): Officer {
  return { ...officer, phone: phoneFor(officer.phone, request), createdAt: new Date(officer.createdAt).toISOString() };
}

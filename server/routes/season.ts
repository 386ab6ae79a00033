import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  ForecastOverviewSchema,
  SeasonScoreSchema,
  StationForecastSchema,
  StationIdSchema,
  SurveyCreateSchema,
  SurveyQuerySchema,
  SurveySchema,
} from '../../contracts/index.js';
import { requireRole } from '../auth/request-auth.js';
import { districtOf, seesDistrict } from '../auth/district-scope.js';
import { csvCell } from '../dashboard/csv.js';
import { errorResponses, sendError } from '../http-errors.js';
import type { PeopleRepository } from '../registry/people.js';
import { communeKey } from '../registry/people-rows.js';
import type { StationRepository } from '../registry/stations.js';
import type { ForecastService } from '../forecast/service.js';
import { SCORE_COMMUNE_COLUMNS, SCORE_NIGHT_COLUMNS } from '../surveys/score.js';
import type { SurveyStore } from '../surveys/store.js';
import type { Warnings } from '../warnings/warnings.js';
import { routesPlugin } from './routes-plugin.js';

export interface SeasonRouteDeps {
  stations: StationRepository;
  people: PeopleRepository;
  forecast: ForecastService;
  surveys: SurveyStore;
  score: Warnings['score'];
}

/** A season and a bit: one request cannot score years. */
const MAX_SCORE_DAYS = 400;

const ScoreQuerySchema = SurveyQuerySchema.extend({
  format: z.enum(['json', 'csv']).default('json'),
  rows: z.enum(['communes', 'nights']).default('communes').describe('CSV: one row per commune, or per commune and night'),
});

/**
 * The day before and the morning after (issue 16): the forecast per station and across stations, the damage
 * surveys, and the season's score against them. Reads for any role; a survey is recorded by officers and admins.
 */
export function seasonRoutes(deps: SeasonRouteDeps): FastifyPluginAsyncZod {
  const { stations, forecast, surveys } = deps;
  /** The communes (by key) of a district user's stations; null for a province-wide user, who sees every commune. */
  const visibleCommunes = (request: FastifyRequest): Set<string> | null => {
    const own = districtOf(request);
    if (own === null) return null;
    return new Set(
      stations
        .list()
        .filter((s) => s.districtId === own)
        .map((s) => communeKey(s.commune)),
    );
  };
  const seesCommune = (communes: Set<string> | null, commune: string): boolean => communes === null || communes.has(communeKey(commune));
  return routesPlugin((app) => {
    app.get(
      '/forecast',
      {
        schema: {
          summary: 'The weather forecast across stations: its state, stale stations, and the pre-alerts of tonight and tomorrow by commune',
          tags: ['forecast'],
          response: { 200: ForecastOverviewSchema, ...errorResponses(401) },
        },
      },
      (request) => {
        const overview = forecast.overview();
        const own = districtOf(request);
        if (own === null) return overview;
        const ids = new Set(
          stations
            .list()
            .filter((s) => s.districtId === own)
            .map((s) => s.id as string),
        );
        const communes = visibleCommunes(request);
        return {
          ...overview,
          stale: overview.stale.filter((id) => ids.has(id)),
          prealerts: overview.prealerts.filter((p) => seesCommune(communes, p.commune)),
        };
      },
    );

    app.get(
      '/stations/:id/forecast',
      {
        schema: {
          summary: "A station's hourly forecast, tonight's and tomorrow night's minimum corrected for the station, and the correction",
          tags: ['forecast'],
          params: z.object({ id: StationIdSchema }),
          response: { 200: StationForecastSchema, ...errorResponses(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const station = stations.get(request.params.id);
        if (!station || !seesDistrict(request, station.districtId)) return sendError(reply, 404, `station ${request.params.id} not found`);
        return forecast.stationForecast(station);
      },
    );

    app.post(
      '/surveys',
      {
        preHandler: requireRole('admin', 'officer'),
        config: { audit: { action: 'survey.create', details: ({ request }) => surveyDetails(request.body) } },
        schema: {
          summary: 'Record what the morning after showed, for a commune or one farm: none, leaf_burn, young_trees_lost or severe',
          tags: ['surveys'],
          body: SurveyCreateSchema,
          response: { 201: SurveySchema, ...errorResponses(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const farmer = body.farmerId === undefined ? undefined : deps.people.getFarmer(body.farmerId);
        if (body.farmerId !== undefined && (!farmer || !seesDistrict(request, farmer.districtId)))
          return sendError(reply, 400, `farmerId: no farmer ${body.farmerId}`);
        if (!seesCommune(visibleCommunes(request), body.commune))
          return sendError(reply, 403, `commune ${body.commune}: not a commune of your district's stations`);
        const by = request.principal?.subject ?? 'unknown';
        // "đạ sar" typed on a phone is the commune the stations call "Đạ Sar": stored under the stations' spelling.
        const commune = stations.list().find((s) => communeKey(s.commune) === communeKey(body.commune))?.commune ?? body.commune;
        const survey = surveys.record({ ...body, commune }, 'officer', by);
        request.log.info({ surveyId: survey.id, night: survey.night, commune: survey.commune, damage: survey.damage }, 'survey recorded');
        return reply.code(201).send(survey);
      },
    );

    app.get(
      '/surveys',
      {
        schema: {
          summary: 'Surveys of the nights between two dates (the evening each night began)',
          tags: ['surveys'],
          querystring: SurveyQuerySchema,
          response: { 200: z.array(SurveySchema), ...errorResponses(400, 401) },
        },
      },
      async (request, reply) => {
        const { from, to } = request.query;
        if (from > to) return sendError(reply, 400, 'from: after to');
        const communes = visibleCommunes(request);
        return surveys.between(from, to).filter((s) => seesCommune(communes, s.commune));
      },
    );

    app.get(
      '/reports/score',
      {
        schema: {
          summary:
            'The season scored per commune against surveys and station minima: hits, misses, false alarms, lead times; `format=csv` for a spreadsheet',
          tags: ['reports'],
          querystring: ScoreQuerySchema,
          response: { 200: SeasonScoreSchema.or(z.string()), ...errorResponses(400, 401) },
        },
      },
      async (request, reply) => {
        const { from, to, format, rows } = request.query;
        if (from > to) return sendError(reply, 400, 'from: after to');
        if ((Date.parse(to) - Date.parse(from)) / 86_400_000 > MAX_SCORE_DAYS)
          return sendError(reply, 400, `to: at most ${MAX_SCORE_DAYS} days after from`);
        const all = await deps.score(from, to);
        const communes = visibleCommunes(request);
        const score = {
          ...all,
          communes: all.communes.filter((c) => seesCommune(communes, c.commune)),
          nights: all.nights.filter((n) => seesCommune(communes, n.commune)),
        };
        if (format === 'json') return score;
        csvHeaders(reply, `frostwatch-score-${rows}-${from}-${to}.csv`);
        return rows === 'communes' ? toCsv(SCORE_COMMUNE_COLUMNS, score.communes) : toCsv(SCORE_NIGHT_COLUMNS, score.nights);
      },
    );
  });
}

function toCsv<C extends string>(columns: readonly C[], rows: readonly Record<C, string | number | boolean | null>[]): string {
  const cell = (v: string | number | boolean | null): string => csvCell(typeof v === 'boolean' ? (v ? 'yes' : 'no') : v);
  return `${[columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n')}\r\n`;
}

function csvHeaders(reply: FastifyReply, filename: string): void {
  reply.header('content-disposition', `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}"`).type('text/csv; charset=utf-8');
}

function surveyDetails(body: unknown): Record<string, unknown> | null {
  if (typeof body !== 'object' || body === null) return null;
  const b = body as Record<string, unknown>;
  return { night: b['night'], commune: b['commune'], damage: b['damage'], farmerId: b['farmerId'] ?? null };
}

import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { districtOf, seesDistrict } from '../auth/district-scope.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ChartRangeSchema, ChartSchema, ReportSchema, StationOverviewSchema } from '../../contracts/index.js';
import type { Dashboard } from '../dashboard/dashboard.js';
import type { DashboardEvent } from '../dashboard/events.js';
import { reportCsv } from '../dashboard/csv.js';
import { localMidnightMs } from '../dashboard/reports.js';
import { errorResponses, sendError } from '../http-errors.js';
import { StationParamsSchema } from './stations.js';
import { routesPlugin } from './routes-plugin.js';

const DAY_MS = 86_400_000;
/** A season and a bit, as for raw readings: one request cannot scan everything. */
const MAX_REPORT_DAYS = 400;
/** Proxies and browsers drop an idle stream; a comment line every 15 s keeps it open and detects dead clients. */
export const HEARTBEAT_MS = 15_000;

const DateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD')
  .refine((d) => !Number.isNaN(Date.parse(d)), 'not a date');
const FormatSchema = z.enum(['json', 'csv']).default('json');
const SeasonBoundSchema = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'expected an ISO 8601 date or time');

/** The officers' dashboard: overview, live events, charts, reports. Any role may read. */
export function dashboardRoutes(
  dashboard: Dashboard,
  stationDistrict: (stationId: string) => string | null = () => null,
): FastifyPluginAsyncZod {
  /** Whether a district user may see this station (server/auth/district-scope.ts); province users see all. */
  const visible = (request: FastifyRequest, stationId: string): boolean => {
    if (districtOf(request) === null) return true;
    const districtId = stationDistrict(stationId);
    return districtId !== null && seesDistrict(request, districtId);
  };
  return routesPlugin((app) => {
    const streams = new Set<ServerResponse>();
    // preClose runs before the HTTP server waits for open connections: an open event stream would hold close() forever.
    const endStreams = (): void => {
      for (const res of streams) res.end();
      streams.clear();
    };
    app.addHook('preClose', (done) => {
      endStreams();
      done();
    });
    app.addHook('onClose', (_instance, done) => {
      endStreams();
      done();
    });

    app.get(
      '/overview',
      {
        schema: {
          summary: 'Every station, riskiest first',
          tags: ['dashboard'],
          response: { 200: z.array(StationOverviewSchema), ...errorResponses(401) },
        },
      },
      (request) => dashboard.overview().filter((row) => visible(request, row.id)),
    );

    app.get(
      '/events',
      {
        schema: {
          summary: 'Server-sent events: `station` (a StationOverview), `alert` (an Alert); a comment every 15 s',
          tags: ['dashboard'],
        },
      },
      (request, reply) => {
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        });
        res.write(': connected\n\n');
        streams.add(res);
        const send = (e: DashboardEvent): void => {
          // A district user's stream carries their district's stations and alerts only.
          if (!visible(request, e.event === 'station' ? e.data.id : e.data.stationId)) return;
          res.write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
        };
        const unsubscribe = dashboard.events.subscribe(send);
        const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
        const done = (): void => {
          clearInterval(heartbeat);
          unsubscribe();
          streams.delete(res);
        };
        res.once('close', done);
        // A client gone mid-write: the socket error ends this stream only, never the process.
        res.on('error', (err) => request.log.debug({ err }, 'event stream error'));
        request.log.debug({ subscribers: dashboard.events.subscribers }, 'event stream opened');
      },
    );

    app.get(
      '/stations/:id/chart',
      {
        schema: {
          summary: 'A station chart: aggregated air, minimum, dew point, leaf estimate, thresholds, forecast curve, alert markers',
          tags: ['dashboard'],
          params: StationParamsSchema,
          querystring: z.object({ range: ChartRangeSchema.default('night') }),
          response: { 200: ChartSchema, ...errorResponses(400, 401, 404) },
        },
      },
      async (request, reply) => {
        if (!visible(request, request.params.id)) return sendError(reply, 404, `station ${request.params.id} not found`);
        const chart = await dashboard.chart(request.params.id, request.query.range);
        return chart ?? sendError(reply, 404, `station ${request.params.id} not found`);
      },
    );

    app.get(
      '/reports/night',
      {
        schema: {
          summary: 'Night report: the night starting on the evening of `date` (farm time); `format=csv` for a spreadsheet',
          tags: ['dashboard'],
          querystring: z.object({ date: DateSchema, format: FormatSchema }),
          response: { 200: ReportSchema.or(z.string().describe('text/csv with format=csv')), ...errorResponses(400, 401) },
        },
      },
      async (request, reply) => {
        const report = await dashboard.nightReport(request.query.date, districtOf(request) ?? undefined);
        if (request.query.format === 'json') return report;
        csvHeaders(reply, `frostwatch-night-${request.query.date}.csv`);
        return reportCsv(report);
      },
    );

    app.get(
      '/reports/season',
      {
        schema: {
          summary: 'Season report between two dates (a date alone is local midnight); `format=csv` for a spreadsheet',
          tags: ['dashboard'],
          querystring: z.object({ from: SeasonBoundSchema, to: SeasonBoundSchema, format: FormatSchema }),
          response: { 200: ReportSchema.or(z.string().describe('text/csv with format=csv')), ...errorResponses(400, 401) },
        },
      },
      async (request, reply) => {
        const fromMs = boundMs(request.query.from, dashboard.timeZone);
        const toMs = boundMs(request.query.to, dashboard.timeZone);
        if (fromMs >= toMs) return sendError(reply, 400, 'querystring.from: must be before `to`');
        if (toMs - fromMs > MAX_REPORT_DAYS * DAY_MS)
          return sendError(reply, 400, `querystring.from: window longer than ${MAX_REPORT_DAYS} days`);
        const report = await dashboard.seasonReport(fromMs, toMs, districtOf(request) ?? undefined);
        if (request.query.format === 'json') return report;
        csvHeaders(reply, `frostwatch-season-${request.query.from.slice(0, 10)}-${request.query.to.slice(0, 10)}.csv`);
        return reportCsv(report);
      },
    );
  });
}

function boundMs(value: string, timeZone: string): number {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? localMidnightMs(value, timeZone) : Date.parse(value);
}

function csvHeaders(reply: FastifyReply, filename: string): void {
  reply.header('content-disposition', `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}"`).type('text/csv; charset=utf-8');
}

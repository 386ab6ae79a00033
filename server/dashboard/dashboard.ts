import type { Logger } from 'pino';
import type { Chart, ChartRange, Clock, ReadingOut, Report, StationOverview } from '../../contracts/index.js';
import { rulesFor } from '../../frost/index.js';
import type { AlertStore } from '../warnings/alert-store.js';
import type { StationView } from '../warnings/rule-engine.js';
import type { StationSettingsStore } from '../warnings/station-settings.js';
import type { InfluxConnection } from '../influx/connect.js';
import type { Db } from '../registry/db.js';
import type { StationRepository } from '../registry/stations.js';
import { AlertQueries } from './alert-queries.js';
import { buildChart } from './chart.js';
import { DashboardEvents } from './events.js';
import { type Activity, byRisk, stationOverview } from './overview.js';
import { coldSummary } from './report-queries.js';
import { type ReportSources, nightReport, seasonReport } from './reports.js';

/** What the dashboard routes need; built once by the runtime. */
export interface Dashboard {
  overview(): StationOverview[];
  overviewOf(stationId: string): StationOverview | null;
  /** null when the station is unknown. */
  chart(stationId: string, range: ChartRange): Promise<Chart | null>;
  /** `date` is YYYY-MM-DD in the farms' time zone. */
  /** `districtId`: that district's stations only (a district user's report); absent: every station. */
  nightReport(date: string, districtId?: string): Promise<Report>;
  seasonReport(fromMs: number, toMs: number, districtId?: string): Promise<Report>;
  readonly events: DashboardEvents;
  /** The farms' time zone (TZ_NAME): a date-only season bound is local midnight there. */
  readonly timeZone: string;
  close(): void;
}

export interface DashboardOptions {
  db: Db;
  stations: StationRepository;
  settings: StationSettingsStore;
  alerts: AlertStore;
  engine: {
    viewOf(stationId: string): StationView | null;
    onStationChanged(listener: (stationId: string) => void): () => void;
  };
  activity: { get(id: string): Activity };
  influx: InfluxConnection;
  queryReadings(stationId: string, range: { fromMs: number; toMs: number; every: string }): Promise<ReadingOut[]>;
  clock: Clock;
  logger: Logger;
  timeZone: string;
  throttleMs?: number;
}

export function createDashboard(o: DashboardOptions): Dashboard {
  const queries = new AlertQueries(o.db);
  const overviewOf = (stationId: string): StationOverview | null => {
    const station = o.stations.get(stationId);
    if (!station) return null;
    return stationOverview(station, o.engine.viewOf(stationId), o.activity.get(stationId), queries.openFaults().get(stationId) ?? []);
  };
  const reportSources = (districtId: string | undefined): ReportSources => ({
    stations: o.stations.list().filter((s) => districtId === undefined || s.districtId === districtId),
    districtName: (id) => o.stations.districts.nameOf(id),
    cold: (id, fromMs, toMs) => coldSummary(o.influx, id, fromMs, toMs),
    warnings: (id, fromMs, toMs) => queries.warnings(id, fromMs, toMs),
  });
  const events = new DashboardEvents({
    onStationChanged: (listener) => o.engine.onStationChanged(listener),
    onAlertChanged: (listener) => o.alerts.onChange(listener),
    overviewOf,
    alert: (id) => o.alerts.get(id),
    logger: o.logger,
    clock: o.clock,
    ...(o.throttleMs === undefined ? {} : { throttleMs: o.throttleMs }),
  });
  return {
    overview: () => {
      const faults = queries.openFaults();
      return o.stations
        .list()
        .map((s) => stationOverview(s, o.engine.viewOf(s.id), o.activity.get(s.id), faults.get(s.id) ?? []))
        .sort(byRisk);
    },
    overviewOf,
    chart: async (stationId, range) => {
      const station = o.stations.get(stationId);
      if (!station) return null;
      // The rules as the engine applies them: the crop's defaults shifted, then the station's calibrated overrides.
      const rules = rulesFor(station.crop, o.settings.get(stationId).ruleOverrides, station);
      return buildChart({
        station,
        range,
        nowMs: o.clock.now(),
        rules,
        view: o.engine.viewOf(stationId),
        query: (r) => o.queryReadings(stationId, r),
        markers: (fromMs, toMs) => queries.markers(stationId, fromMs, toMs),
      });
    },
    nightReport: (date, districtId) => nightReport(reportSources(districtId), date, o.timeZone),
    seasonReport: (fromMs, toMs, districtId) => seasonReport(reportSources(districtId), fromMs, toMs),
    events,
    timeZone: o.timeZone,
    close: () => events.close(),
  };
}

import { useState } from 'preact/hooks';
import type { NightReportRow } from '../../../contracts/dashboard.js';
import { endpoints, type ReportQuery } from '../endpoints.js';
import { farmDate } from '../farm-date.js';
import { useApi } from '../use-api.js';
import { fmtC, fmtTime, useLang, useT } from '../i18n.js';
import { levelText } from '../levels.js';
import { ScoreView } from './score.js';

type Kind = 'night' | 'season' | 'score';
const KINDS: Array<[Kind, 'nightReport' | 'season' | 'score']> = [
  ['night', 'nightReport'],
  ['season', 'season'],
  ['score', 'score'],
];

export function ReportsPage() {
  const t = useT();
  const [kind, setKind] = useState<Kind>('night');
  const [date, setDate] = useState(() => farmDate());
  const [from, setFrom] = useState(() => farmDate(-60));
  const [to, setTo] = useState(() => farmDate());

  return (
    <section class="report">
      <h1>{t('reports')}</h1>
      <div class="buttons tabs no-print" role="tablist">
        {KINDS.map(([k, word]) => (
          <button
            type="button"
            role="tab"
            aria-selected={kind === k}
            class={kind === k ? 'current' : ''}
            data-testid={`report-${k}`}
            onClick={() => setKind(k)}
          >
            {t(word)}
          </button>
        ))}
      </div>
      <div class="filters">
        {kind === 'night' ? (
          <label>
            {t('date')} <input type="date" value={date} data-testid="report-date" onChange={(e) => setDate(e.currentTarget.value)} />
          </label>
        ) : (
          <>
            <label>
              {t('from')} <input type="date" value={from} data-testid="report-from" onChange={(e) => setFrom(e.currentTarget.value)} />
            </label>
            <label>
              {t('to')} <input type="date" value={to} data-testid="report-to" onChange={(e) => setTo(e.currentTarget.value)} />
            </label>
          </>
        )}
        {kind === 'score' ? (
          <>
            <a class="button no-print" href={endpoints.scorePath(from, to, 'communes')} download data-testid="score-csv-communes">
              {t('csvCommunes')}
            </a>
            <a class="button no-print" href={endpoints.scorePath(from, to, 'nights')} download data-testid="score-csv-nights">
              {t('csvNights')}
            </a>
          </>
        ) : (
          <a
            class="button no-print"
            href={`${endpoints.reportPath(kind === 'night' ? { kind, date } : { kind, from, to })}&format=csv`}
            download
            data-testid="csv-link"
          >
            {t('downloadCsv')}
          </a>
        )}
        <button type="button" class="no-print" data-testid="print" onClick={() => print()}>
          {t('print')}
        </button>
      </div>
      {kind === 'score' ? (
        <ScoreView from={from} to={to} />
      ) : (
        <StationReport request={kind === 'night' ? { kind, date } : { kind, from, to }} />
      )}
    </section>
  );
}

/** The night's or the season's minima per station. */
function StationReport({ request }: { request: ReportQuery }) {
  const t = useT();
  const query = endpoints.reportPath(request);
  const { data: report, error } = useApi(() => endpoints.report(request), [query]);
  return (
    <>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {report && (
        <p class="sub">
          {report.from} → {report.to}
        </p>
      )}
      {report && report.rows.length === 0 && <p>{t('noData')}</p>}
      {report && report.rows.length > 0 && (
        <>
          <h2>{t('coldest')}</h2>
          <MinimaBars rows={report.rows} />
          <ReportTable rows={report.rows} />
        </>
      )}
    </>
  );
}

/** Plain SVG bars: a dozen stations do not need a chart library, and SVG prints crisply. */
function MinimaBars({ rows }: { rows: NightReportRow[] }) {
  const values = rows.map((r) => r.minAirC).filter((v): v is number => v !== null);
  const lo = Math.min(-4, ...values.map(Math.floor));
  const hi = Math.max(8, ...values.map(Math.ceil));
  const rowH = 26;
  const left = 120;
  const width = 480;
  const x = (c: number): number => left + ((c - lo) / (hi - lo)) * (width - left - 50);
  const zero = x(0);
  return (
    <svg class="bars" data-testid="report-bars" viewBox={`0 0 ${width} ${rows.length * rowH + 20}`} role="img">
      <line x1={zero} x2={zero} y1={0} y2={rows.length * rowH} stroke="#444" />
      {rows.map((r, i) => {
        const y = i * rowH + 4;
        const v = r.minAirC;
        const color = v === null ? '#ccc' : v <= -2 ? '#d7263d' : v <= 0 ? '#f07f16' : v <= 2 ? '#e8c31c' : '#2e9d4f';
        return (
          <g data-testid={`bar-${r.stationId}`}>
            <text x={0} y={y + 15} font-size="14">
              {r.name.slice(0, 14)}
            </text>
            {v !== null && <rect x={Math.min(zero, x(v))} y={y} width={Math.abs(x(v) - zero)} height={rowH - 8} fill={color} />}
            <text x={v === null ? zero + 4 : Math.max(zero, x(v)) + 4} y={y + 15} font-size="14">
              {fmtC(v)}
            </text>
          </g>
        );
      })}
      <text x={zero} y={rows.length * rowH + 16} font-size="11" text-anchor="middle">
        0 °C
      </text>
    </svg>
  );
}

function ReportTable({ rows }: { rows: NightReportRow[] }) {
  const t = useT();
  const lang = useLang();
  const pct = (v: number | null): string => (v === null ? '—' : `${Math.round(v * 100)} %`);
  return (
    <div class="table-wrap">
      <table data-testid="report-table">
        <thead>
          <tr>
            <th>{t('station')}</th>
            <th>{t('minAir')}</th>
            <th>{t('minAt')}</th>
            <th>{t('hoursBelow2')}</th>
            <th>{t('hoursBelow0')}</th>
            <th>{t('hoursBelowM2')}</th>
            <th>{t('highest')}</th>
            <th>{t('messages')}</th>
            <th>{t('reach')}</th>
            <th>{t('leadTime')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr data-testid={`report-row-${r.stationId}`}>
              <td>
                {r.name}
                <div class="sub">{r.commune}</div>
              </td>
              <td>{fmtC(r.minAirC)}</td>
              <td>{fmtTime(r.minAt, lang)}</td>
              <td>{r.hoursBelow2C.toFixed(1)}</td>
              <td>{r.hoursBelow0C.toFixed(1)}</td>
              <td>{r.hoursBelowMinus2C.toFixed(1)}</td>
              <td>{levelText(r.highestLevel, t)}</td>
              <td>{r.messagesSent}</td>
              <td>
                {pct(r.reachRate)} ({r.reached}/{r.recipients})
              </td>
              <td>{r.leadTimeH === null ? '—' : r.leadTimeH.toFixed(1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import type { ForecastNight, ForecastOverview, ForecastStatus, StationForecast } from '../../../contracts/forecast.js';
import type { ChartRange, Chart } from '../../../contracts/dashboard.js';
import { endpoints } from '../endpoints.js';
import { nightSpanS } from '../farm-date.js';
import { type T, fill, fmtC, fmtTime, useLang, useT } from '../i18n.js';
import { useApi } from '../use-api.js';
import type { NwpOverlay } from './chart.js';

/** How often the overview asks again for the forecast's state: it changes at the 06:00, 12:00 and 15:00 fetches. */
const BANNER_REFRESH_MS = 60_000;

const leadWord = (lead: ForecastNight['lead'], t: T): string => t(lead === 'tonight' ? 'leadTonight' : 'leadTomorrow');
/** Stale or missing: nothing can be decided, and it must not look like a quiet night. */
const isWarning = (status: ForecastStatus): boolean => status === 'stale' || status === 'missing';

/** The forecast's state in words: fresh, stale since when (and why), missing, or switched off. */
export function ForecastStatusNote(props: {
  status: ForecastStatus;
  fetchedAt: string | null;
  lastError: string | null;
  testid: string;
  children?: ComponentChildren;
}) {
  const t = useT();
  const lang = useLang();
  const at = fmtTime(props.fetchedAt, lang);
  const text = {
    fresh: fill(t('fcFresh'), { at }),
    stale: fill(t('fcStale'), { at }),
    missing: t('fcMissing'),
    off: t('fcOff'),
  }[props.status];
  return (
    <div
      class={`fc-status fc-${props.status}`}
      role={isWarning(props.status) ? 'alert' : undefined}
      data-testid={props.testid}
      data-status={props.status}
    >
      {isWarning(props.status) && <strong aria-hidden="true">⚠ </strong>}
      {text}
      {props.lastError !== null && props.status !== 'fresh' && (
        <div class="fc-error" data-testid={`${props.testid}-error`}>
          {t('lastError')}: {props.lastError}
        </div>
      )}
      {props.children}
    </div>
  );
}

/** The overview's banner: the forecast's state and the pre-alerts of tonight and tomorrow night by commune. */
export function ForecastBanner() {
  const t = useT();
  const { data, error, reload } = useApi(endpoints.forecast, []);
  useEffect(() => {
    const timer = setInterval(reload, BANNER_REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  if (error)
    return (
      <p class="fc-status fc-missing" data-testid="forecast-banner" data-status="error">
        {error}
      </p>
    );
  if (!data) return null;
  return <BannerBody overview={data} t={t} />;
}

function BannerBody({ overview, t }: { overview: ForecastOverview; t: T }) {
  const { status, prealerts, stale } = overview;
  const order = (lead: string): number => (lead === 'tonight' ? 0 : 1);
  const sorted = [...prealerts].sort((a, b) => order(a.lead) - order(b.lead) || a.correctedMinC - b.correctedMinC);
  return (
    <section class={`card fc-banner fc-banner-${status}`} data-testid="forecast-banner" data-status={status}>
      <ForecastStatusNote status={status} fetchedAt={overview.fetchedAt} lastError={null} testid="forecast-state">
        {status !== 'off' && stale.length > 0 && (
          <div class="fc-detail" data-testid="forecast-cannot-decide">
            {fill(t('cannotDecide'), { n: stale.length, ids: stale.join(', ') })}
          </div>
        )}
      </ForecastStatusNote>
      {sorted.length > 0 && (
        <>
          <h2>{t('prealerts')}</h2>
          <ul class="prealerts" data-testid="prealerts">
            {sorted.map((p) => (
              <li class={`prealert lead-${p.lead}`} data-testid={`prealert-${p.lead}`} data-commune={p.commune}>
                <strong>{leadWord(p.lead, t)}</strong> · {p.commune}: ≈ <strong>{fmtC(p.correctedMinC)}</strong>
                <span class="sub"> ({p.stations.join(', ')})</span>
              </li>
            ))}
          </ul>
        </>
      )}
      {/* "Nothing tonight" only on a fresh forecast: from a stale one it would read as an all-clear. */}
      {sorted.length === 0 && status === 'fresh' && (
        <p class="sub" data-testid="no-prealert">
          {t('noPrealert')}
        </p>
      )}
    </section>
  );
}

/** The correction in plain words: observed ≈ α + β · forecast, and how many nights taught it. */
export function CorrectionLine({ forecast }: { forecast: StationForecast }) {
  const t = useT();
  const c = forecast.correction;
  const signed = (v: number, digits: number): string => `${v < 0 ? '−' : ''}${Math.abs(v).toFixed(digits)}`;
  return (
    <p class="hint" data-testid="forecast-correction" data-kind={c.kind}>
      {fill(t('correctionLine'), { alpha: signed(c.alpha, 1), beta: c.beta.toFixed(2), n: c.n, rmse: c.rmseC.toFixed(1) })}
      {c.kind === 'prior' && ` ${t('correctionPrior')}`}
    </p>
  );
}

/** Tonight and tomorrow night as the forecast sees them, corrected for the station. */
export function ForecastNights({ forecast }: { forecast: StationForecast }) {
  const t = useT();
  const lang = useLang();
  if (forecast.nights.length === 0) return null;
  const yesNo = (v: boolean): string => t(v ? 'yes' : 'no');
  return (
    <div class="table-wrap">
      <h2>{t('forecastNights')}</h2>
      <table data-testid="forecast-nights" class={forecast.status === 'fresh' ? '' : 'fc-table-stale'}>
        <thead>
          <tr>
            <th>{t('nightReport')}</th>
            <th>{t('forecastMin')}</th>
            <th>{t('correctedMinC')}</th>
            <th>{t('sky')}</th>
            <th>{t('frostLikely')}</th>
            <th>{t('prealerted')}</th>
          </tr>
        </thead>
        <tbody>
          {forecast.nights.map((n) => (
            <tr data-testid={`forecast-night-${n.lead}`} class={n.frostLikely ? 'frost-likely' : ''}>
              <td>
                {leadWord(n.lead, t)}
                <div class="sub">{n.night}</div>
              </td>
              <td>
                {fmtC(n.forecastMinC)}
                <div class="sub">{fmtTime(n.minAt, lang)}</div>
              </td>
              <td data-testid={`corrected-${n.lead}`}>
                <strong>{fmtC(n.correctedMinC)}</strong>
              </td>
              <td>
                {[n.clear && t('clear'), n.calm && t('calm'), n.dry && t('dry')].filter(Boolean).join(', ') || '—'}
                <div class="sub">
                  {Math.round(n.cloudPct)} % · {n.windMs.toFixed(1)} m/s · Td {fmtC(n.dewPointC)}
                </div>
              </td>
              <td>{yesNo(n.frostLikely)}</td>
              <td>{yesNo(n.prealerted)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The stretch of the forecast the chart takes: from the chart's start through the night the officer is looking at.
 * A night range by day shows last night (nothing of tonight is measured yet), and an officer in the afternoon wants
 * tonight: the forecast's tonight is added after it — unless the window's own night is still being measured (its
 * readings stop short of its end), when tonight in the forecast's sense is already the next evening. 24 h looks
 * ahead to tonight; 7 days and the season take every forecast night.
 */
export function nwpOverlay(range: ChartRange, chart: Chart, forecast: StationForecast, t: T): NwpOverlay {
  const fromS = Date.parse(chart.from) / 1000;
  const toS = Date.parse(chart.to) / 1000;
  const spans = forecast.nights.map((n) => ({ night: n, ...nightSpanS(n.night) }));
  let untilS = toS;
  if (range === '7d' || range === 'season') untilS = Math.max(toS, ...spans.map((s) => s.to));
  else {
    const tonight = spans.find((s) => s.night.lead === 'tonight');
    const lastReading = chart.x.at(-1);
    const measuring = range === 'night' && lastReading !== undefined && lastReading < toS - 3600;
    if (tonight && !measuring) untilS = Math.max(toS, tonight.to);
  }
  const stale = forecast.status !== 'fresh';
  return {
    fromS,
    untilS,
    x: forecast.x,
    tempC: forecast.tempC,
    stale,
    nights: spans
      .filter((s) => s.to > fromS && s.from < untilS)
      .map((s) => ({
        fromS: s.from,
        toS: s.to,
        c: s.night.correctedMinC,
        label: `${leadWord(s.night.lead, t)} ≈ ${fmtC(s.night.correctedMinC)}${stale ? ` (${t('staleTag')})` : ''}`,
      })),
  };
}

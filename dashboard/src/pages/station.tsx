import { useMemo, useState } from 'preact/hooks';
import type { ChartRange } from '../../../contracts/dashboard.js';
import { endpoints } from '../endpoints.js';
import { useApi } from '../use-api.js';
import { type Key, fmtTime, useLang, useT } from '../i18n.js';
import { ChartView } from './chart.js';
import { CorrectionLine, ForecastNights, ForecastStatusNote, nwpOverlay } from './forecast.js';

const RANGES: Array<[ChartRange, Key]> = [
  ['night', 'night'],
  ['24h', 'h24'],
  ['7d', 'd7'],
  ['season', 'season'],
];

export function StationPage({ id }: { id: string }) {
  const t = useT();
  const lang = useLang();
  const [range, setRange] = useState<ChartRange>('night');
  // A new range keeps the old chart on screen until the new one comes; another station starts blank.
  const { data: chart, error } = useApi(() => endpoints.chart(id, range), [id, range], false);
  // The weather forecast beside it: a server without one (or an error) leaves the chart as it was.
  const { data: forecast, error: forecastError } = useApi(() => endpoints.stationForecast(id), [id]);
  const nwp = useMemo(() => (chart && forecast ? nwpOverlay(chart.range, chart, forecast, t) : null), [chart, forecast, t]);

  return (
    <section>
      <p class="no-print">
        <a href="#/overview">← {t('back')}</a>
      </p>
      <h1>
        {t('station')} {id}
      </h1>
      <div class="buttons tabs" role="tablist">
        {RANGES.map(([r, key]) => (
          <button
            type="button"
            role="tab"
            aria-selected={range === r}
            class={range === r ? 'current' : ''}
            data-testid={`range-${r}`}
            onClick={() => setRange(r)}
          >
            {t(key)}
          </button>
        ))}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {forecast && (
        <ForecastStatusNote
          status={forecast.status}
          fetchedAt={forecast.fetchedAt}
          lastError={forecast.lastError}
          testid="forecast-status"
        />
      )}
      {forecastError && (
        <p class="error" data-testid="forecast-error">
          {forecastError}
        </p>
      )}
      {!chart && !error && <p>{t('loading')}</p>}
      {chart && (
        <>
          <ChartView chart={chart} t={t} nwp={nwp} />
          {chart.markers.length > 0 && (
            <ul class="markers">
              {chart.markers.map((m) => (
                <li>
                  {fmtTime(m.at * 1000, lang)} · {m.transition} · {m.reason}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      {forecast && forecast.status !== 'off' && (
        <>
          <ForecastNights forecast={forecast} />
          <CorrectionLine forecast={forecast} />
        </>
      )}
    </section>
  );
}

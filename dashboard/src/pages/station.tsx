import { useEffect, useState } from 'preact/hooks';
import type { Chart, ChartRange } from '../../../contracts/dashboard.js';
import { api, errorText } from '../api.js';
import { type Key, fmtTime, useLang, useT } from '../i18n.js';
import { ChartView } from './chart.js';

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
  const [chart, setChart] = useState<Chart | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    setError(null);
    api<Chart>('GET', `/api/stations/${encodeURIComponent(id)}/chart?range=${range}`).then(
      (c) => {
        if (current) setChart(c);
      },
      (e) => {
        if (current) setError(errorText(e));
      },
    );
    return () => {
      current = false;
    };
  }, [id, range]);

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
      {!chart && !error && <p>{t('loading')}</p>}
      {chart && (
        <>
          <ChartView chart={chart} t={t} />
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
    </section>
  );
}

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { byRisk, type StationOverview } from '../../../contracts/dashboard.js';
import { errorText } from '../api.js';
import { endpoints } from '../endpoints.js';
import { fmtC, fmtTime, useLang, useT } from '../i18n.js';
import { SHADE_COLOR, shadeOf } from '../levels.js';
import { useLiveEvents } from '../live.js';
import { useApi, useLatestGate } from '../use-api.js';
import { ForecastBanner } from './forecast.js';
import { StationMap } from './station-map.js';

/** The map's tile URL; null without one (no endpoint, no tiles: the map still places the stations). */
async function loadTiles(): Promise<{ tileUrl: string | null }> {
  try {
    const config = await endpoints.uiConfig();
    return { tileUrl: config.tileUrl };
  } catch {
    return { tileUrl: null };
  }
}

export function OverviewPage() {
  const t = useT();
  const [rows, setRows] = useState<StationOverview[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { data: tiles } = useApi(loadTiles, []);
  const { data: districts } = useApi(endpoints.districts, []);
  /** A province-wide user's choice of district; '' is all of them. A district user has one district and no choice. */
  const [district, setDistrict] = useState('');

  // Rows pushed while a snapshot is in flight are newer than it: they win when it lands.
  // Only the newest snapshot may land (use-api.ts): an older one answering late would roll the rows back.
  const pushedDuringLoad = useRef<Map<string, StationOverview> | null>(null);
  const gate = useLatestGate();
  const reload = useCallback(() => {
    const pushed = new Map<string, StationOverview>();
    pushedDuringLoad.current = pushed;
    const landed = (): void => {
      if (pushedDuringLoad.current === pushed) pushedDuringLoad.current = null;
    };
    gate.track(
      endpoints.overview,
      (snapshot) => {
        landed();
        setRows([...snapshot.filter((r) => !pushed.has(r.id)), ...pushed.values()]);
        setError(null);
      },
      (e) => {
        landed();
        setError(errorText(e));
      },
    );
  }, [gate]);
  useEffect(() => reload(), [reload]);

  const live = useLiveEvents({
    open: reload,
    station: (row) => {
      pushedDuringLoad.current?.set(row.id, row);
      setRows((prev) => (prev ? [...prev.filter((r) => r.id !== row.id), row] : prev));
    },
  });
  const sorted = rows ? rows.filter((r) => district === '' || r.districtId === district).sort(byRisk) : [];

  return (
    <section>
      <div class="row-head">
        <h1>{t('overview')}</h1>
        <span class={`live live-${live}`} data-testid="live-indicator" data-state={live}>
          ● {live === 'live' ? t('live') : t('reconnecting')}
        </span>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {districts && districts.length > 1 && (
        <label class="district-filter">
          {t('district')}{' '}
          <select data-testid="district-filter" value={district} onChange={(e) => setDistrict(e.currentTarget.value)}>
            <option value="">{t('allDistricts')}</option>
            {districts.map((d) => (
              <option value={d.id} key={d.id}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <ForecastBanner />
      <div class="overview">
        {tiles && <StationMap rows={sorted} tileUrl={tiles.tileUrl} />}
        <StationList rows={sorted} loading={rows === null} />
      </div>
    </section>
  );
}

function StationList({ rows, loading }: { rows: StationOverview[]; loading: boolean }) {
  const t = useT();
  const lang = useLang();
  if (loading) return <p>{t('loading')}</p>;
  if (rows.length === 0) return <p>{t('noStations')}</p>;
  return (
    <div class="table-wrap">
      <table class="stations" data-testid="station-list">
        <thead>
          <tr>
            <th>{t('station')}</th>
            <th>{t('temp')}</th>
            <th>{t('forecastMin')}</th>
            <th>{t('level')}</th>
            <th>{t('lastSeen')}</th>
            <th>{t('battery')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const shade = shadeOf(row);
            return (
              <tr
                key={row.id}
                data-testid={`station-row-${row.id}`}
                data-level={shade}
                onClick={() => {
                  location.hash = `#/station/${encodeURIComponent(row.id)}`;
                }}
              >
                <td>
                  <a href={`#/station/${encodeURIComponent(row.id)}`}>{row.name}</a>
                  <div class="sub">
                    {row.commune} · {row.id}
                  </div>
                </td>
                <td data-testid={`station-temp-${row.id}`}>{fmtC(row.airTempC)}</td>
                <td>
                  {fmtC(row.forecastMinC)}
                  {row.forecastMinAtMs !== null && <div class="sub">{fmtTime(row.forecastMinAtMs, lang, false)}</div>}
                </td>
                <td>
                  <span class="badge" style={{ background: SHADE_COLOR[shade] }} data-testid={`station-level-${row.id}`}>
                    {t(shade)}
                  </span>
                  {row.faults.length > 0 && <div class="sub warn">{row.faults.join(', ')}</div>}
                </td>
                <td>{fmtTime(row.lastSeenAt, lang)}</td>
                <td>{row.batteryV === null ? '—' : `${row.batteryV.toFixed(2)} V`}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/*
 * The season's score as plain SVG, not uPlot: uPlot draws time series on a canvas, and these are a few categorical
 * bars per commune (stacking them in uPlot takes a bars path builder and hand-made stacking). SVG prints crisply in a
 * report, carries each count as text a test or a screen reader can read, and costs nothing to ship — like the
 * minima bars beside it.
 */
import type { Outcome, ScoreCommune, ScoreNight } from '../../../contracts/forecast.js';
import { endpoints } from '../endpoints.js';
import { fmtC, useT } from '../i18n.js';
import { levelText } from '../levels.js';
import { useApi } from '../use-api.js';

type Counted = 'hit' | 'miss' | 'false_alarm';
const COUNTED: readonly Counted[] = ['hit', 'miss', 'false_alarm'];

function counts(c: ScoreCommune, row: 'warning' | 'prealert'): Record<Counted, number> {
  return row === 'warning'
    ? { hit: c.hits, miss: c.misses, false_alarm: c.falseAlarms }
    : { hit: c.prealertHits, miss: c.prealertMisses, false_alarm: c.prealertFalseAlarms };
}

const hours = (h: number | null): string => (h === null ? '—' : h.toFixed(1));

export function ScoreView({ from, to }: { from: string; to: string }) {
  const t = useT();
  const { data: score, error } = useApi(() => endpoints.score(from, to), [from, to]);
  return (
    <div data-testid="score">
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!score && !error && <p>{t('loading')}</p>}
      {score && (
        <>
          <p class="sub">
            {score.from} → {score.to}
          </p>
          {score.communes.length === 0 ? (
            <p>{t('noData')}</p>
          ) : (
            <>
              <ScoreBars communes={score.communes} />
              <CommuneTable communes={score.communes} />
              <NightTable nights={score.nights} />
            </>
          )}
          <p class="hint">{t('scoreWhy')}</p>
        </>
      )}
    </div>
  );
}

/** Two stacked bars per commune — the ladder's warnings and the afternoon's pre-alerts — and their median lead times. */
function ScoreBars({ communes }: { communes: ScoreCommune[] }) {
  const t = useT();
  const width = 640;
  const labelW = 120;
  const leadW = 120;
  const barH = 20;
  const groupH = 2 * barH + 26;
  const top = 30;
  const most = Math.max(
    1,
    ...communes.flatMap((c) => [counts(c, 'warning'), counts(c, 'prealert')].map((k) => k.hit + k.miss + k.false_alarm)),
  );
  const unit = (width - labelW - leadW - 10) / most;
  const legend: Array<[Counted, string]> = [
    ['hit', t('hits')],
    ['miss', t('misses')],
    ['false_alarm', t('falseAlarms')],
  ];
  return (
    <svg
      class="bars score-bars"
      data-testid="score-chart"
      viewBox={`0 0 ${width} ${top + communes.length * groupH}`}
      role="img"
      aria-label={t('score')}
    >
      {legend.map(([kind, word], i) => (
        <g>
          <rect x={labelW + i * 150} y={4} width={14} height={14} class={`seg seg-${kind}`} />
          <text x={labelW + i * 150 + 20} y={16} font-size="13">
            {word}
          </text>
        </g>
      ))}
      {communes.map((c, i) => {
        const y0 = top + i * groupH;
        return (
          <g data-testid="score-commune" data-commune={c.commune}>
            <text x={0} y={y0 + barH + 4} font-size="14" font-weight="bold">
              {c.commune.slice(0, 14)}
            </text>
            {(['warning', 'prealert'] as const).map((row, r) => {
              const y = y0 + r * (barH + 4);
              const k = counts(c, row);
              let x = labelW;
              return (
                <g data-row={row}>
                  <text x={labelW - 6} y={y + 15} font-size="11" text-anchor="end" class="bar-label">
                    {t(row === 'warning' ? 'warningsRow' : 'prealertsRow')}
                  </text>
                  {COUNTED.map((kind) => {
                    const w = k[kind] * unit;
                    const seg = (
                      <g data-kind={kind} data-count={k[kind]}>
                        {w > 0 && (
                          <rect x={x} y={y} width={w} height={barH} class={`seg seg-${kind}${row === 'prealert' ? ' seg-pre' : ''}`} />
                        )}
                        {w >= 14 && (
                          <text x={x + w / 2} y={y + 15} font-size="12" text-anchor="middle" class="seg-count">
                            {k[kind]}
                          </text>
                        )}
                      </g>
                    );
                    x += w;
                    return seg;
                  })}
                  <text x={width - leadW + 6} y={y + 15} font-size="12" data-testid={`score-lead-${row}`}>
                    {hours(row === 'warning' ? c.medianLeadTimeH : c.medianPrealertLeadTimeH)} {t('hours')}
                  </text>
                </g>
              );
            })}
          </g>
        );
      })}
    </svg>
  );
}

function CommuneTable({ communes }: { communes: ScoreCommune[] }) {
  const t = useT();
  return (
    <div class="table-wrap">
      <table data-testid="score-communes">
        <thead>
          <tr>
            <th>{t('commune')}</th>
            <th>{t('hits')}</th>
            <th>{t('misses')}</th>
            <th>{t('falseAlarms')}</th>
            <th>{t('quiet')}</th>
            <th>{t('medianLead')}</th>
            <th>
              {t('prealertsRow')}: {t('hits')} / {t('misses')} / {t('falseAlarms')}
            </th>
            <th>{t('medianPrealertLead')}</th>
            <th>{t('surveyed')}</th>
          </tr>
        </thead>
        <tbody>
          {communes.map((c) => (
            <tr data-testid="score-commune-row" data-commune={c.commune}>
              <td>{c.commune}</td>
              <td data-testid="score-hits">{c.hits}</td>
              <td>{c.misses}</td>
              <td>{c.falseAlarms}</td>
              <td>{c.quiet}</td>
              <td data-testid="score-median-lead">
                {hours(c.medianLeadTimeH)} {t('hours')}
              </td>
              <td>
                {c.prealertHits} / {c.prealertMisses} / {c.prealertFalseAlarms}
              </td>
              <td>
                {hours(c.medianPrealertLeadTimeH)} {t('hours')}
              </td>
              <td>{c.surveyed}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function OutcomeCell({ outcome, testid }: { outcome: Outcome; testid: string }) {
  const t = useT();
  return (
    <td class={`outcome outcome-${outcome}`} data-testid={testid} data-outcome={outcome}>
      {t(`outcome_${outcome}`)}
    </td>
  );
}

function NightTable({ nights }: { nights: ScoreNight[] }) {
  const t = useT();
  return (
    <div class="table-wrap">
      <table data-testid="score-nights">
        <thead>
          <tr>
            <th>{t('nightReport')}</th>
            <th>{t('commune')}</th>
            <th>{t('minAir')}</th>
            <th>{t('damage')}</th>
            <th>{t('frostBy')}</th>
            <th>{t('highest')}</th>
            <th>{t('outcome')}</th>
            <th>{t('leadTime')}</th>
            <th>{t('prealertOutcome')}</th>
            <th>{t('prealertLead')}</th>
          </tr>
        </thead>
        <tbody>
          {nights.map((n) => (
            <tr data-testid="score-night" data-night={n.night} data-commune={n.commune}>
              <td>{n.night}</td>
              <td>{n.commune}</td>
              <td>{fmtC(n.minAirC)}</td>
              <td>{n.damage === null ? '—' : t(`damage_${n.damage}`)}</td>
              <td>{t(`frostBy_${n.frostBy}`)}</td>
              <td>{levelText(n.highestLevel, t)}</td>
              <OutcomeCell outcome={n.outcome} testid="score-outcome" />
              <td data-testid="score-lead">{hours(n.leadTimeH)}</td>
              <OutcomeCell outcome={n.prealertOutcome} testid="score-prealert-outcome" />
              <td>{hours(n.prealertLeadTimeH)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/*
 * uPlot, not Chart.js/ECharts: ~45 kB minified, draws on one canvas, and stays fast with 100k
 * points (a whole season at 5-minute resolution for several series) — what a cheap phone needs.
 * Its columnar data format is exactly what GET /api/stations/:id/chart returns.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { farmTimeZone } from '../time-zone.js';
import type { Chart } from '../../../contracts/dashboard.js';
import type { T } from '../i18n.js';

const COLORS = {
  air: '#1d4e89',
  dew: '#2e9d4f',
  leaf: '#8e44ad',
  forecast: '#d7263d',
  nwp: '#e07b00',
  corrected: '#0b7285',
  stale: '#8a8f98',
};
const THRESHOLD_COLORS = { watchC: '#e8c31c', warningC: '#f07f16', severeC: '#d7263d' } as const;

/** Station time: the axis reads the same in Đà Lạt and on a visitor's laptop. */
const tzDate = (ts: number): Date => uPlot.tzDate(new Date(ts * 1e3), farmTimeZone());

/**
 * The weather forecast's hours laid over the station's own, and each night's station-corrected minimum as a level
 * segment across that night (18:00–07:00): what the pre-alert was decided on. `untilS` ends the hours the chart takes.
 */
export interface NwpOverlay {
  fromS: number;
  untilS: number;
  x: number[];
  tempC: (number | null)[];
  stale: boolean;
  nights: { fromS: number; toS: number; c: number; label: string }[];
}

interface Table {
  x: number[];
  ys: (number | null)[][];
}

/** uPlot.join over the tables that have points; a table without any gives its series no values. */
function joinTables(tables: Table[]): uPlot.AlignedData {
  const present = tables.filter((t) => t.x.length > 0);
  if (present.length === 0) return [[], ...tables.flatMap((t) => t.ys.map(() => []))] as uPlot.AlignedData;
  // join() aligns the tables on the union of their x: an x one table lacks is `undefined` there (drawn across), its own nulls stay gaps.
  const joined = uPlot.join(present.map((t) => [t.x, ...t.ys] as uPlot.AlignedData));
  const xs = joined[0];
  const out: uPlot.AlignedData[number][] = [xs];
  let col = 1;
  for (const t of tables)
    for (let i = 0; i < t.ys.length; i += 1) out.push(t.x.length > 0 ? (joined[col++] ?? []) : Array.from(xs, () => null));
  return out as unknown as uPlot.AlignedData;
}

export function buildData(chart: Chart, nwp: NwpOverlay | null = null): uPlot.AlignedData {
  const observed: Table = { x: chart.x, ys: [chart.airTempC, chart.dewPointC, chart.leafEstC] };
  const ffst: Table = chart.forecast ? { x: chart.forecast.x, ys: [chart.forecast.c] } : { x: [], ys: [[]] };
  const hours: Table = { x: [], ys: [[]] };
  const corrected: Table = { x: [], ys: [[]] };
  if (nwp) {
    nwp.x.forEach((x, i) => {
      if (x < nwp.fromS || x > nwp.untilS) return;
      hours.x.push(x);
      hours.ys[0]?.push(nwp.tempC[i] ?? null);
    });
    // Each night a level segment; a null just after it keeps the next night's segment apart.
    for (const n of nwp.nights) {
      corrected.x.push(n.fromS, n.toS, n.toS + 1);
      corrected.ys[0]?.push(n.c, n.c, null);
    }
  }
  return joinTables([observed, ffst, hours, corrected]);
}

function drawOverlays(u: uPlot, chart: Chart, nwp: NwpOverlay | null): void {
  const { ctx, bbox } = u;
  ctx.save();
  ctx.lineWidth = 1;
  ctx.setLineDash([2, 3]);
  for (const key of ['watchC', 'warningC', 'severeC'] as const) {
    const y = u.valToPos(chart.thresholds[key], 'y', true);
    if (y < bbox.top || y > bbox.top + bbox.height) continue;
    ctx.strokeStyle = THRESHOLD_COLORS[key];
    ctx.beginPath();
    ctx.moveTo(bbox.left, y);
    ctx.lineTo(bbox.left + bbox.width, y);
    ctx.stroke();
  }
  ctx.setLineDash([]);
  ctx.font = `${12 * devicePixelRatio}px sans-serif`;
  // uPlot leaves the alignment of its last axis label on the context: the labels here start at their point.
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  for (const marker of chart.markers) {
    const x = u.valToPos(marker.at, 'x', true);
    if (x < bbox.left || x > bbox.left + bbox.width) continue;
    ctx.strokeStyle = ctx.fillStyle = marker.transition.includes('all_clear') ? '#2e9d4f' : '#d7263d';
    ctx.beginPath();
    ctx.moveTo(x, bbox.top);
    ctx.lineTo(x, bbox.top + bbox.height);
    ctx.stroke();
    ctx.fillText(`▼ ${marker.level}`, x + 3, bbox.top + 12 * devicePixelRatio);
  }
  // Each corrected minimum labelled above its segment, where the segment shows.
  ctx.fillStyle = nwp?.stale ? COLORS.stale : COLORS.corrected;
  for (const n of nwp?.nights ?? []) {
    const y = u.valToPos(n.c, 'y', true);
    const x = Math.max(u.valToPos(n.fromS, 'x', true), bbox.left);
    if (x > bbox.left + bbox.width - 40 || y < bbox.top || y > bbox.top + bbox.height) continue;
    // On a light ground of its own: the label sits where the night's other curves run.
    const textY = y - 5 * devicePixelRatio;
    const w = ctx.measureText(n.label).width;
    ctx.save();
    ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
    ctx.fillRect(x + 1, textY - 12 * devicePixelRatio, w + 4, 15 * devicePixelRatio);
    ctx.restore();
    ctx.fillText(n.label, x + 3, textY);
  }
  ctx.restore();
}

/** 24-hour station-time labels; the date once the chart spans days. */
function timeLabels(splits: number[]): string[] {
  const span = (splits.at(-1) ?? 0) - (splits[0] ?? 0);
  const opts: Intl.DateTimeFormatOptions =
    span > 2 * 86_400
      ? { timeZone: farmTimeZone(), day: '2-digit', month: '2-digit' }
      : { timeZone: farmTimeZone(), hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  return splits.map((v) => new Date(v * 1000).toLocaleString('en-GB', opts));
}

function options(chart: Chart, t: T, width: number, nwp: NwpOverlay | null): uPlot.Options {
  const nwpColor = nwp?.stale ? COLORS.stale : COLORS.nwp;
  return {
    width,
    height: Math.max(260, Math.min(420, Math.round(width * 0.55))),
    tzDate,
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true } },
    axes: [{ values: (_u, splits) => timeLabels(splits) }, { label: '°C' }],
    series: [
      {},
      { label: t('airTemp'), stroke: COLORS.air, width: 2, spanGaps: false },
      { label: t('dewPoint'), stroke: COLORS.dew, width: 1.5 },
      { label: t('leafEst'), stroke: COLORS.leaf, width: 1.5 },
      { label: t('forecast'), stroke: COLORS.forecast, width: 2, dash: [8, 5], spanGaps: true },
      // A stale forecast is grey and says so: it must never read as tonight's reassurance.
      { label: t(nwp?.stale ? 'nwpStale' : 'nwp'), stroke: nwpColor, width: 2, dash: nwp?.stale ? [2, 6] : [4, 4], spanGaps: false },
      { label: t('correctedMin'), stroke: nwp?.stale ? COLORS.stale : COLORS.corrected, width: 3, points: { show: false } },
    ],
    hooks: { draw: [(u) => drawOverlays(u, chart, nwp)] },
  };
}

export function ChartView({ chart, t, nwp = null }: { chart: Chart; t: T; nwp?: NwpOverlay | null }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const host = el.current;
    if (!host) return undefined;
    const u = new uPlot(options(chart, t, host.clientWidth || 320, nwp), buildData(chart, nwp), host);
    plot.current = u;
    const observer = new ResizeObserver(() => u.setSize({ width: host.clientWidth, height: u.height }));
    observer.observe(host);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [chart, t, nwp]);

  const pan = (direction: -1 | 1): void => {
    const u = plot.current;
    const { min, max } = u?.scales.x ?? {};
    if (!u || min === undefined || max === undefined) return;
    const step = (max - min) * 0.25 * direction;
    u.setScale('x', { min: min + step, max: max + step });
  };
  const reset = (): void => {
    const u = plot.current;
    const xs = u?.data[0];
    const first = xs?.[0];
    const last = xs?.[xs.length - 1];
    if (u && first !== undefined && last !== undefined) u.setScale('x', { min: first, max: last });
  };

  return (
    <div>
      <div
        class="chart"
        data-testid="chart"
        data-nwp-hours={nwp ? nwp.x.filter((x) => x >= nwp.fromS && x <= nwp.untilS).length : 0}
        data-corrected={nwp?.nights.map((n) => n.c).join(' ') ?? ''}
        ref={el}
      />
      <div class="buttons">
        <button type="button" onClick={() => pan(-1)} data-testid="pan-left" aria-label="pan left">
          ◀
        </button>
        <button type="button" onClick={reset} data-testid="reset-zoom">
          {t('resetZoom')}
        </button>
        <button type="button" onClick={() => pan(1)} data-testid="pan-right" aria-label="pan right">
          ▶
        </button>
      </div>
      <p class="hint">{t('dragToZoom')}</p>
    </div>
  );
}

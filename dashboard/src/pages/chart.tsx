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

const COLORS = { air: '#1d4e89', dew: '#2e9d4f', leaf: '#8e44ad', forecast: '#d7263d' };
const THRESHOLD_COLORS = { watchC: '#e8c31c', warningC: '#f07f16', severeC: '#d7263d' } as const;

/** Station time: the axis reads the same in Đà Lạt and on a visitor's laptop. */
const tzDate = (ts: number): Date => uPlot.tzDate(new Date(ts * 1e3), farmTimeZone());

export function buildData(chart: Chart): uPlot.AlignedData {
  const observed: uPlot.AlignedData = [chart.x, chart.airTempC, chart.dewPointC, chart.leafEstC];
  if (!chart.forecast || chart.forecast.x.length === 0) return [...observed, chart.x.map(() => null)] as uPlot.AlignedData;
  // The forecast curve has its own time points; join() aligns both tables on the union of x.
  return uPlot.join([observed, [chart.forecast.x, chart.forecast.c]]);
}

function drawOverlays(u: uPlot, chart: Chart): void {
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

function options(chart: Chart, t: T, width: number): uPlot.Options {
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
    ],
    hooks: { draw: [(u) => drawOverlays(u, chart)] },
  };
}

export function ChartView({ chart, t }: { chart: Chart; t: T }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const host = el.current;
    if (!host) return undefined;
    const u = new uPlot(options(chart, t, host.clientWidth || 320), buildData(chart), host);
    plot.current = u;
    const observer = new ResizeObserver(() => u.setSize({ width: host.clientWidth, height: u.height }));
    observer.observe(host);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [chart, t]);

  const pan = (direction: -1 | 1): void => {
    const u = plot.current;
    const { min, max } = u?.scales.x ?? {};
    if (!u || min === undefined || max === undefined) return;
    const step = (max - min) * 0.25 * direction;
    u.setScale('x', { min: min + step, max: max + step });
  };
  const reset = (): void => {
    const u = plot.current;
    const first = chart.x[0];
    const last = Math.max(chart.x.at(-1) ?? 0, chart.forecast?.x.at(-1) ?? 0);
    if (u && first !== undefined) u.setScale('x', { min: first, max: last });
  };

  return (
    <div>
      <div class="chart" data-testid="chart" ref={el} />
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

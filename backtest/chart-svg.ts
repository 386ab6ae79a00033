import type { AlarmScore } from './score.js';

/**
 * The backtest's picture, hand-written SVG with no dependencies: (a) POD where a 2 h lead was possible against the
 * false-alarm ratio, one point per alarm, and (b) each alarm's lead time from p10 to median. The first alarm is the
 * engine's and is drawn highlighted.
 */

const WIDTH = 800;
const HEIGHT = 420;
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
const ENGINE = '#c0392b';
const OTHER = '#4a6fa5';
const GRID = '#e3e3e3';
const AXIS = '#555';
const MUTED = '#888';
const GOAL = { minPod: 0.9, maxFar: 0.25 }; // the backtest issue's goal for the engine: POD ≥ 0.9 with FAR ≤ 0.25
const WANTED_LEAD_H = 2; // the backtest issue: a warning helps when it comes ≥ 2 h ahead

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

const PANEL_A: Box = { left: 70, top: 56, width: 290, height: 264 };
const PANEL_B: Box = { left: 440, top: 56, width: 330, height: 264 };

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** A rough width of a label, enough to choose its side: ~0.55 em a character. */
const labelWidth = (label: string, fontSize: number): number => label.length * fontSize * 0.55;

/** A coordinate, to 0.1 px. */
const n1 = (x: number): string => String(Math.round(x * 10) / 10);
/** A number to read, with a typographic minus. */
const shown = (x: number, digits: number): string =>
  x
    .toFixed(digits)
    .replace(/^-(?=.*[1-9])/, '−')
    .replace(/^-/, '');

function text(x: number, y: number, body: string, attrs = ''): string {
  return `<text x="${n1(x)}" y="${n1(y)}"${attrs ? ` ${attrs}` : ''}>${esc(body)}</text>`;
}

function line(x1: number, y1: number, x2: number, y2: number, attrs: string): string {
  return `<line x1="${n1(x1)}" y1="${n1(y1)}" x2="${n1(x2)}" y2="${n1(y2)}" ${attrs}/>`;
}

/** Spreads labels (sorted by y) so that no two sit closer than `gap`, keeping them inside [lo, hi]. */
function spread(ys: readonly number[], gap: number, lo: number, hi: number): number[] {
  const out = [...ys];
  for (let i = 1; i < out.length; i += 1) out[i] = Math.max(out[i] as number, (out[i - 1] as number) + gap);
  const overflow = (out[out.length - 1] ?? hi) - hi;
  return out.map((y) => Math.max(lo, y - Math.max(0, overflow)));
}

function axisA(box: Box, x: (far: number) => number, y: (pod: number) => number): string[] {
  const out: string[] = [];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    out.push(line(x(t), box.top, x(t), box.top + box.height, `stroke="${GRID}"`));
    out.push(text(x(t), box.top + box.height + 15, t.toFixed(2), 'text-anchor="middle"'));
  }
  for (const t of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    out.push(line(box.left, y(t), box.left + box.width, y(t), `stroke="${GRID}"`));
    out.push(text(box.left - 6, y(t) + 4, t.toFixed(1), 'text-anchor="end"'));
  }
  const goalAttrs = `fill="#e5f4e8" stroke="#2e7d32" stroke-dasharray="4 3"`;
  out.push(
    `<rect x="${n1(x(0))}" y="${n1(y(1))}" width="${n1(x(GOAL.maxFar) - x(0))}" height="${n1(y(GOAL.minPod) - y(1))}" ${goalAttrs}/>`,
  );
  out.push(text(x(0) + 4, y(1) + 12, 'goal', 'font-size="10" fill="#2e7d32"'));
  out.push(`<rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}" fill="none" stroke="${AXIS}"/>`);
  out.push(text(box.left + box.width / 2, box.top + box.height + 34, 'false-alarm ratio', 'text-anchor="middle"'));
  const midY = box.top + box.height / 2;
  out.push(text(22, midY, 'POD ≥ 2 h ahead (where possible)', `text-anchor="middle" transform="rotate(-90 22 ${n1(midY)})"`));
  return out;
}

/** Why an alarm has no point in panel (a), or null when it has one. */
function unplotted(s: AlarmScore): string | null {
  if (s.warnedNights === 0) return 'no alarms';
  if (s.podPossible === null) return 'no frost night where 2 h was possible';
  return null;
}

interface Point {
  name: string;
  engine: boolean;
  px: number;
  py: number;
}

/** Leaders first, then the points over them, then the labels on top; labels spread apart when points crowd. */
function pointMarks(points: readonly Point[], box: Box): string[] {
  const sorted = [...points].sort((a, b) => a.py - b.py);
  const labelYs = spread(
    sorted.map((p) => p.py + 4),
    13,
    box.top + 10,
    box.top + box.height - 4,
  );
  const leaders: string[] = [];
  const dots: string[] = [];
  const labels: string[] = [];
  sorted.forEach((p, i) => {
    const colour = p.engine ? ENGINE : OTHER;
    dots.push(`<circle cx="${n1(p.px)}" cy="${n1(p.py)}" r="${p.engine ? 7 : 5}" fill="${colour}" stroke="#fff" stroke-width="1.5"/>`);
    const room = { right: box.left + box.width + 40 - p.px, left: p.px - (box.left - 40) };
    const right = room.right >= labelWidth(p.name, 12) + 10 || room.right >= room.left;
    const labelX = p.px + (right ? 10 : -10);
    const labelY = labelYs[i] ?? p.py + 4;
    if (Math.abs(labelY - 4 - p.py) > 5) {
      leaders.push(line(p.px, p.py, labelX + (right ? -2 : 2), labelY - 4, `stroke="${colour}" stroke-width="0.75"`));
    }
    const attrs = `text-anchor="${right ? 'start' : 'end'}" fill="${colour}"${p.engine ? ' font-weight="bold"' : ''}`;
    labels.push(text(labelX, labelY, p.name, attrs));
  });
  return [...leaders, ...dots, ...labels];
}

function panelA(scores: readonly AlarmScore[], box: Box): string[] {
  const x = (far: number): number => box.left + far * box.width;
  const y = (pod: number): number => box.top + (1 - pod) * box.height;
  const points = scores.flatMap((s, i) =>
    s.far !== null && s.podPossible !== null ? [{ name: s.name, engine: i === 0, px: x(s.far), py: y(s.podPossible) }] : [],
  );
  const notes = [`dashed box: the goal, POD ≥ ${GOAL.minPod} with a false-alarm ratio ≤ ${GOAL.maxFar}`];
  for (const s of scores) {
    const why = unplotted(s);
    if (why !== null) notes.push(`not plotted: ${s.name} (${why})`);
  }
  return [
    text(box.left, 30, '(a) POD ≥ 2 h ahead against false alarms', 'font-weight="bold"'),
    ...axisA(box, x, y),
    ...pointMarks(points, box),
    ...notes.map((note, i) => text(box.left, box.top + box.height + 54 + i * 12, note, `font-size="10" fill="${MUTED}"`)),
  ];
}

/** A tick step that gives at most eight ticks over `span` hours. */
function tickStep(span: number): number {
  return [0.5, 1, 2, 3, 6, 12, 24].find((step) => span / step <= 8) ?? 48;
}

function leadRange(scores: readonly AlarmScore[]): { lo: number; hi: number; step: number } {
  const values = scores.flatMap((s) => [s.p10LeadH, s.medianLeadH]).filter((v): v is number => v !== null);
  const rawLo = Math.min(0, ...values);
  const rawHi = Math.max(WANTED_LEAD_H + 1, ...values);
  const step = tickStep(rawHi - rawLo);
  return { lo: Math.floor(rawLo / step) * step, hi: Math.ceil(rawHi / step) * step, step };
}

function panelB(scores: readonly AlarmScore[], box: Box): string[] {
  const { lo, hi, step } = leadRange(scores);
  const x = (h: number): number => box.left + ((h - lo) / (hi - lo)) * box.width;
  const bottom = box.top + box.height;
  const out = [text(box.left, 30, '(b) lead time, p10 to median', 'font-weight="bold"')];
  for (let i = 0; lo + i * step <= hi; i += 1) {
    const t = lo + i * step;
    out.push(line(x(t), box.top, x(t), bottom, `stroke="${t === 0 ? '#bbb' : GRID}"`));
    out.push(text(x(t), bottom + 15, shown(t, Number.isInteger(t) ? 0 : 1), 'text-anchor="middle"'));
  }
  out.push(line(x(WANTED_LEAD_H), box.top, x(WANTED_LEAD_H), bottom, 'stroke="#2e7d32" stroke-dasharray="4 3"'));
  out.push(text(x(WANTED_LEAD_H), box.top - 5, `${WANTED_LEAD_H} h`, 'text-anchor="middle" font-size="10" fill="#2e7d32"'));
  out.push(line(box.left, bottom, box.left + box.width, bottom, `stroke="${AXIS}"`));
  out.push(text(box.left + box.width / 2, bottom + 34, 'hours before the target (negative: late)', 'text-anchor="middle"'));
  const row = box.height / Math.max(1, scores.length);
  scores.forEach((s, i) => out.push(...leadRow(s, i === 0, box.top + i * row, row, x, box.left)));
  return out;
}

function leadRow(s: AlarmScore, engine: boolean, top: number, height: number, x: (h: number) => number, left: number): string[] {
  const colour = engine ? ENGINE : OTHER;
  const weight = engine ? ' font-weight="bold"' : '';
  const barY = top + Math.min(height * 0.55, 30);
  if (s.medianLeadH === null || s.p10LeadH === null) {
    return [text(left + 4, top + 14, `${s.name}: no alarms`, `fill="${MUTED}"${weight}`)];
  }
  const stats = `median ${shown(s.medianLeadH, 1)} h, p10 ${shown(s.p10LeadH, 1)} h, ${s.leadNights} nights`;
  return [
    text(left + 4, top + 14, s.name, `fill="${colour}"${weight}`),
    ...(height >= 48 ? [text(left + 4, barY + 17, stats, `font-size="10" fill="${MUTED}"`)] : []),
    line(x(s.p10LeadH), barY, x(s.medianLeadH), barY, `stroke="${colour}" stroke-width="6" stroke-opacity="0.45" stroke-linecap="round"`),
    line(x(s.p10LeadH), barY - 6, x(s.p10LeadH), barY + 6, `stroke="${colour}" stroke-width="1.5"`),
    `<circle cx="${n1(x(s.medianLeadH))}" cy="${n1(barY)}" r="${engine ? 6 : 5}" fill="${colour}"/>`,
  ];
}

/** The standalone SVG (about 800 × 420) for the report: lead time against false alarms. */
export function renderChartSvg(scores: readonly AlarmScore[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${FONT}" font-size="12" fill="#222">`,
    '<title>lead time against false alarms</title>',
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    ...panelA(scores, PANEL_A),
    ...panelB(scores, PANEL_B),
    '</svg>',
    '',
  ].join('\n');
}

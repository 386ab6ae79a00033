import { MISS_CAUSES, type AlarmScore, type AlarmSummary, type MissCause } from './score.js';

/** What was replayed, for the report's opening lines. */
export interface ReportMeta {
  /** The input files, as given on the command line. */
  files: readonly string[];
  stations: number;
  readings: number;
  nights: number;
  /** One sentence on the readings' cadence, e.g. "10-minute readings, replayed at the station's own interval". */
  cadenceNote: string;
  /** The chart's file name, relative to the report. */
  svgName: string;
  /** IANA zone for the times in the night lists; UTC when absent. */
  timeZone?: string;
}

/**
 * Backslash-escapes what Markdown would read as markup (CommonMark allows `\` before any ASCII punctuation). An `_`
 * inside a word and an `&` that starts no entity stay as they are, so ids like `ld_01` and names with `&` read plainly.
 */
function md(text: string): string {
  return text
    .replace(/[\\`*[\]|<>]/g, '\\$&')
    .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, '\\_')
    .replace(/&(?=#?[A-Za-z0-9]+;)/g, '\\&');
}

/** A link destination with the characters that would end it percent-encoded. */
const linkTarget = (path: string): string => path.replace(/[ ()<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Fixed decimals with a typographic minus, and no "−0.0". */
function fixed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  return Number(s) === 0 ? (0).toFixed(digits) : s.replace('-', '−');
}

const plural = (n: number, one: string, many: string): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

const ratioCell = (r: number | null, n: number, of: number): string => `${r === null ? '–' : fixed(r, 2)} (${n}/${of})`;
const hoursCell = (h: number | null): string => (h === null ? '–' : fixed(h, 1));

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)];
}

function timeFormat(timeZone: string): (ms: number | null) => string {
  const f = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  return (ms) => {
    if (ms === null) return 'none';
    const part = Object.fromEntries(f.formatToParts(ms).map((p) => [p.type, p.value]));
    return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}`;
  };
}

const SUMMARY_HEADER = ['POD (≥ 2 h)', 'POD where 2 h was possible', 'false-alarm ratio', 'median lead h', 'p10 lead h', 'warned nights'];

function summaryCells(s: AlarmSummary): string[] {
  return [
    ratioCell(s.pod, s.hits, s.frostNights),
    ratioCell(s.podPossible, s.possibleHits, s.possibleNights),
    ratioCell(s.far, s.falseAlarms, s.warnedNights),
    hoursCell(s.medianLeadH),
    hoursCell(s.p10LeadH),
    `${s.warnedNights} (${s.leadNights} frost)`,
  ];
}

function replayed(scores: readonly AlarmScore[], meta: ReportMeta): string[] {
  const outcomes = scores[0]?.outcomes ?? [];
  const frost = outcomes.filter((o) => o.kind === 'frost').length;
  const files = meta.files.map((f) => md(f)).join(', ');
  const kinds = outcomes.length > 0 ? ` (${frost} frost, ${plural(outcomes.length - frost, 'near miss', 'near misses')})` : '';
  return [
    `Replayed ${files}: ${plural(meta.stations, 'station', 'stations')}, ${plural(meta.readings, 'reading', 'readings')}, ` +
      `${plural(meta.nights, 'labelled night', 'labelled nights')}${kinds}. ${md(meta.cadenceNote)}`,
    '',
    'An alarm belongs to a night when it fires at the night’s station from sunset − 3 h to sunrise + 3 h; only its first time ' +
      'counts. The target is the first time the 2 m air reaches ≤ 1.5 °C between sunset and sunrise + 3 h, or the time of the ' +
      'night’s minimum when it never does. POD counts frost nights warned ≥ 2 h before the target; "where 2 h was possible" ' +
      'leaves out the frost nights whose first reading came less than 2 h before it. The false-alarm ratio is the near misses ' +
      'among the warned nights. Lead = target − first alarm (negative: late), over the warned frost nights.',
  ];
}

function missedFrost(score: AlarmScore, time: (ms: number | null) => string): string[] {
  const missed = score.outcomes
    .filter((o) => o.kind === 'frost' && !o.hit)
    .sort((a, b) => Number(b.possible) - Number(a.possible) || a.targetMs - b.targetMs);
  if (missed.length === 0) return ['None.'];
  const rows = missed.map((o) => [
    md(o.nightId),
    md(o.station),
    `${time(o.targetMs)} (${o.targetBasis})`,
    o.possible ? 'yes' : 'no',
    time(o.firstAlarmMs),
    hoursCell(o.leadH),
    md(o.missCause ?? ''),
  ]);
  return table(['night', 'station', 'target', '2 h possible', 'first alarm', 'lead h', 'why'], rows);
}

/** How many frost nights each cause cost, for every alarm side by side: what physics bounds, and what the rules do. */
function missCauses(scores: readonly AlarmScore[]): string[] {
  const count = (s: AlarmScore, cause: MissCause): string => String(s.outcomes.filter((o) => o.missCause === cause).length);
  return table(
    ['why a frost night was missed', ...scores.map((s) => md(s.name))],
    MISS_CAUSES.map((cause) => [md(cause), ...scores.map((s) => count(s, cause))]),
  );
}

function falseAlarms(score: AlarmScore, time: (ms: number | null) => string): string[] {
  const nights = score.outcomes.filter((o) => o.kind === 'near_miss' && o.firstAlarmMs !== null);
  if (nights.length === 0) return ['None.'];
  const rows = nights.map((o) => [md(o.nightId), md(o.station), time(o.firstAlarmMs), fixed(o.minAirC, 1), time(o.minAtMs)]);
  return table(['night', 'station', 'first alarm', 'minimum °C', 'minimum at'], rows);
}

const MISS_CAUSE_TEXT =
  'The first four causes are in the weather, and make a 2 h lead hard for any alarm that reads only this station: the ' +
  'air was already cold at the first reading, the cold came after sunrise, it fell ≥ 3 °C in the hour before the target ' +
  '(a front, cold air draining in, or a late clearing), or only the ground froze while the 2 m air stayed above 0.5 °C. ' +
  'The last two are the alarm’s own misses.';

/** The backtest report in Markdown: the table of alarms, the engine by station, and its misses and false alarms. */
export function renderReport(scores: readonly AlarmScore[], meta: ReportMeta): string {
  const zone = meta.timeZone ?? 'UTC';
  const time = timeFormat(zone);
  const lines = ['# Frost backtest', '', ...replayed(scores, meta), ''];
  lines.push(
    ...table(
      ['alarm', ...SUMMARY_HEADER],
      scores.map((s) => [md(s.name), ...summaryCells(s)]),
    ),
    '',
  );
  lines.push(`![lead time against false alarms](${linkTarget(meta.svgName)})`, '');
  const engine = scores[0];
  if (engine) {
    const name = md(engine.name);
    lines.push(`## ${name} by station`, '');
    lines.push(
      ...table(
        ['station', ...SUMMARY_HEADER],
        engine.byStation.map((s) => [md(s.station), ...summaryCells(s)]),
      ),
      '',
    );
    lines.push('## Why frost nights were missed', '', MISS_CAUSE_TEXT, '');
    lines.push(...missCauses(scores), '');
    lines.push(`## ${name}: missed frost nights`, '', `Times in ${md(zone)}; nights where 2 h was possible first.`, '');
    lines.push(...missedFrost(engine, time), '');
    lines.push(`## ${name}: false alarms`, '', `Times in ${md(zone)}.`, '');
    lines.push(...falseAlarms(engine, time), '');
  }
  return lines.join('\n');
}

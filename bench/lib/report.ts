import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchRow } from '../types.js';
import { type MachineInfo, describeMachine } from './machine.js';

export const BEGIN = '<!-- bench:begin -->';
export const END = '<!-- bench:end -->';

export interface BenchOutcome {
  id: string;
  title: string;
  status: 'ok' | 'failed' | 'skipped';
  note?: string;
  seconds: number;
  rows: BenchRow[];
}

export interface RunReport {
  startedAt: string;
  command: string;
  quick: boolean;
  machine: MachineInfo;
  benches: BenchOutcome[];
}

const cell = (text: string): string => text.replaceAll('|', '\\|');

function formatValue(value: number): string {
  return Number.isFinite(value) ? value.toLocaleString('en-US') : String(value);
}

/** The Markdown table of every row, then one line per bench that failed or was skipped. */
export function markdownTable(benches: readonly BenchOutcome[]): string {
  const lines = ['| # | name | value | unit | goal / peer | ratio | note |', '| --- | --- | ---: | --- | --- | ---: | --- |'];
  for (const b of benches) {
    for (const r of b.rows) {
      lines.push(
        `| ${r.group} | ${cell(r.name)} | ${formatValue(r.value)} | ${cell(r.unit)} | ${cell(r.goal ?? '')} | ${r.ratio === undefined ? '' : r.ratio.toFixed(2)} | ${cell(r.note ?? '')} |`,
      );
    }
  }
  const notes = benches.filter((b) => b.status !== 'ok').map((b) => `- \`${b.id}\` ${b.status}${b.note ? `: ${b.note}` : ''}`);
  return [...lines, ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}

export function measuredSection(report: RunReport): string {
  return [
    BEGIN,
    `## Measured by \`npm run bench\` (${report.startedAt.slice(0, 10)}${report.quick ? ', quick mode' : ''})`,
    '',
    `Command: \`${report.command}\``,
    '',
    `Machine: ${describeMachine(report.machine)}`,
    '',
    markdownTable(report.benches),
    '',
    `Raw figures: \`bench/results/${resultFileName(report.startedAt)}\`.`,
    END,
  ].join('\n');
}

export function resultFileName(startedAt: string): string {
  return `${startedAt.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`;
}

/** Replaces what is between the markers (or appends the section); the rest of the file is kept as it is. */
export function spliceSection(existing: string, section: string): string {
  const begin = existing.indexOf(BEGIN);
  const end = existing.indexOf(END);
  if (begin >= 0 && end > begin) return existing.slice(0, begin) + section + existing.slice(end + END.length);
  return `${existing.trimEnd()}\n\n${section}\n`;
}

/**
 * Always the JSON; BENCHMARKS.md's table only when `table` (a run of every benchmark), so a partial run never
 * replaces the whole table with a few rows.
 */
export async function writeReport(root: string, report: RunReport, table: boolean): Promise<{ json: string; markdown: string | null }> {
  const dir = join(root, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const json = join(dir, resultFileName(report.startedAt));
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  if (!table) return { json, markdown: null };
  const markdown = join(root, 'BENCHMARKS.md');
  const existing = await readFile(markdown, 'utf8').catch(() => '# Benchmarks\n');
  await writeFile(markdown, spliceSection(existing, measuredSection(report)));
  return { json, markdown };
}

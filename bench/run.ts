/**
 * `npm run bench [-- --quick] [-- --only ingest,charts]`: runs the benchmarks of issue 5 one after the other,
 * prints the table, writes bench/results/<date>.json and the measured section of BENCHMARKS.md.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { applyHeapPolicy } from '../server/heap-policy.js';
import { benchHeapPolicy, heapPrefix } from './lib/heap.js';
import { machineInfo } from './lib/machine.js';
import { type BenchOutcome, markdownTable, writeReport } from './lib/report.js';
import type { Bench } from './types.js';

const ORDER = [
  'engine',
  'ingest',
  'gateway-vs-mosquitto',
  'alert-latency',
  'connections',
  'backfill-storm',
  'footprint',
  'charts',
  'night-windows',
  'registration',
  'cluster-sizing',
];
const ROOT = join(import.meta.dirname, '..', '..');

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, help: { type: 'boolean', default: false } },
  strict: true,
});
if (values.help) {
  process.stdout.write(`usage: npm run bench -- [--quick] [--only ${ORDER.join(',')}]\n`);
  process.exit(0);
}
const only = values.only
  ?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = only?.filter((id) => !ORDER.includes(id)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${ORDER.join(', ')}\n`);
  process.exit(2);
}
const ids = ORDER.filter((id) => only === undefined || only.includes(id));
const quick = values.quick;
const args = process.argv.slice(2).join(' ');
// Read once here, in the command's main: which of the two ways the run was started, for the report.
const command =
  process.env['npm_lifecycle_event'] === 'bench'
    ? `${heapPrefix()}npm run bench${args ? ` -- ${args}` : ''}`
    : `${heapPrefix()}node dist/bench/run.js${args ? ` ${args}` : ''}`;
const startedAt = new Date().toISOString();
const runStart = performance.now();
// The systems this process runs itself are measured under the shipped HEAP_POLICY, as `frostwatch up` applies it
// (server/heap-policy.ts); HEAP_POLICY=fast measures V8's defaults instead. Child systems inherit the variable.
applyHeapPolicy(benchHeapPolicy());

// Node types isTTY and columns as always there; on a pipe or a file they are undefined.
const tty = (process.stderr.isTTY as boolean | undefined) === true;
let lastPlain = 0;
function progressLine(line: string, force = false): void {
  const text = `[${((performance.now() - runStart) / 1_000).toFixed(0)} s] ${line}`;
  if (tty) process.stderr.write(`\r\x1b[K${text.slice(0, ((process.stderr.columns as number | undefined) ?? 120) - 1)}`);
  else if (force || performance.now() - lastPlain > 5_000) {
    lastPlain = performance.now();
    process.stderr.write(`${text}\n`);
  }
}
function endLine(line: string): void {
  if (tty) process.stderr.write('\r\x1b[K');
  process.stderr.write(`${line}\n`);
}

async function load(id: string): Promise<Bench | null> {
  if (!existsSync(join(import.meta.dirname, `${id}.js`))) return null;
  const mod = (await import(`./${id}.js`)) as { bench?: Bench };
  if (!mod.bench) throw new Error(`bench/${id}.ts exports no \`bench\``);
  return mod.bench;
}

async function runOne(id: string, index: number): Promise<BenchOutcome> {
  const t0 = performance.now();
  const seconds = () => Math.round((performance.now() - t0) / 100) / 10;
  const bench = await load(id).catch((err: unknown) => err as Error);
  if (bench === null) return { id, title: id, status: 'skipped', note: `bench/${id}.ts not present`, seconds: 0, rows: [] };
  if (bench instanceof Error) return { id, title: id, status: 'failed', note: bench.message, seconds: 0, rows: [] };
  const tag = `[${index + 1}/${ids.length} ${id}]`;
  progressLine(`${tag} ${bench.title}`, true);
  try {
    const rows = await bench.run({ quick, progress: (line) => progressLine(`${tag} ${line}`) });
    endLine(`${tag} done in ${seconds()} s`);
    return { id, title: bench.title, status: 'ok', seconds: seconds(), rows };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    endLine(`${tag} FAILED after ${seconds()} s: ${message}`);
    return { id, title: bench.title, status: 'failed', note: message.split('\n')[0] ?? message, seconds: seconds(), rows: [] };
  }
}

const machine = await machineInfo();
const benches: BenchOutcome[] = [];
for (const [index, id] of ids.entries()) {
  const outcome = await runOne(id, index);
  if (outcome.rows.length === 0 && outcome.seconds === 0)
    endLine(`[${index + 1}/${ids.length} ${id}] ${outcome.status}: ${outcome.note ?? ''}`);
  benches.push(outcome);
}
// Only a run of every benchmark rewrites the table in BENCHMARKS.md; `--only` prints and keeps its JSON.
const written = await writeReport(ROOT, { startedAt, command, quick, machine, benches }, only === undefined);
const wrote =
  written.markdown === null
    ? `${written.json} (BENCHMARKS.md is rewritten only by a run of every benchmark)`
    : `${written.json} and ${written.markdown}`;
process.stdout.write(`\n${markdownTable(benches)}\n\nWrote ${wrote}\n`);
// Anything a failed bench left open must not keep the command alive.
process.exit(benches.some((b) => b.status === 'failed') ? 1 : 0);

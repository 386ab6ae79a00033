/**
 * Issue 15, measurement 2: registering a district's fleet at once — 10,000 stations (quick: 1,000) from a CSV file
 * with `frostwatch station import FILE.csv --tokens-out TOKENS.csv` (a process of its own on a fresh DATA_DIR,
 * timed from start to exit), and the same through the batch API `POST /api/stations/import` of a running
 * `frostwatch up`. Goal: under 30 s each. Both register in one transaction and hash each token once (HMAC-SHA-256).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench, BenchOptions, BenchRow } from './types.js';
import { runIfMain } from './support/entry.js';
import { startChildUp, startInfluxd, stationCreate, stationIdOf } from './support/system.js';

const GOAL_S = 30;
/** startChildUp's admin token. */
const ADMIN_TOKEN = 'bench-admin-token-0123456789';

export const bench: Bench = {
  id: 'registration',
  title: 'Registering a fleet: CSV import and the batch API',
  run: async ({ quick, progress }: BenchOptions): Promise<BenchRow[]> => {
    const count = quick ? 1_000 : 10_000;
    const cli = await cliImport(count, progress);
    const api = await apiImport(count, progress);
    const row = (name: string, seconds: number, note: string): BenchRow => ({
      group: 9,
      name,
      value: round1(seconds),
      unit: 's',
      goal: `< ${GOAL_S} s`,
      ratio: round2(seconds / GOAL_S),
      note,
    });
    return [
      row(
        `register ${count.toLocaleString()} stations: frostwatch station import FILE.csv --tokens-out`,
        cli.seconds,
        `the whole command, process start to exit, on a fresh DATA_DIR; ${cli.tokens.toLocaleString()} tokens written to a ${cli.mode} file`,
      ),
      row(
        `register ${count.toLocaleString()} stations: POST /api/stations/import`,
        api.seconds,
        `one request to a running frostwatch up (${(api.bytes / 1_048_576).toFixed(1)} MB of JSON), answered ${api.status} with ${api.tokens.toLocaleString()} tokens`,
      ),
    ];
  },
};

async function cliImport(count: number, progress: (line: string) => void): Promise<{ seconds: number; tokens: number; mode: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'frostwatch-bench-import-'));
  try {
    const csv = join(dir, 'stations.csv');
    const tokensFile = join(dir, 'tokens.csv');
    const lines = ['id,name,commune,lat,lon,elevation_m,crop'];
    for (let i = 0; i < count; i += 1) {
      const s = stationCreate(stationIdOf('imp', i), i);
      lines.push([s.id, s.name, s.commune, s.lat, s.lon, s.elevationM, s.crop].join(','));
    }
    await writeFile(csv, `${lines.join('\n')}\n`);
    progress(`station import: ${count.toLocaleString()} lines`);
    const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
    const started = performance.now();
    const child = spawn(process.execPath, [main, 'station', 'import', csv, '--tokens-out', tokensFile], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: join(dir, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    const seconds = (performance.now() - started) / 1_000;
    if (code !== 0) throw new Error(`station import exited ${code}: ${output.slice(-500)}`);
    const tokens = (await readFile(tokensFile, 'utf8')).trim().split('\n').length - 1; // minus the header
    const mode = `0${((await stat(tokensFile)).mode & 0o777).toString(8)}`;
    return { seconds, tokens, mode };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function apiImport(
  count: number,
  progress: (line: string) => void,
): Promise<{ seconds: number; status: number; tokens: number; bytes: number }> {
  const influx = await startInfluxd();
  const dir = await mkdtemp(join(tmpdir(), 'frostwatch-bench-import-api-'));
  let child: Awaited<ReturnType<typeof startChildUp>> | null = null;
  try {
    child = await startChildUp(dir, influx.influxd.url);
    const body = JSON.stringify({ stations: Array.from({ length: count }, (_, i) => stationCreate(stationIdOf('api', i), i)) });
    progress(`POST /api/stations/import: ${count.toLocaleString()} stations`);
    const started = performance.now();
    const res = await fetch(`${child.httpUrl}/api/stations/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body,
    });
    const answer = (await res.json()) as { tokens?: unknown[] };
    const seconds = (performance.now() - started) / 1_000;
    if (res.status !== 201) throw new Error(`import answered ${res.status}: ${JSON.stringify(answer).slice(0, 500)}`);
    return { seconds, status: res.status, tokens: answer.tokens?.length ?? 0, bytes: Buffer.byteLength(body) };
  } finally {
    await child?.stop();
    await influx.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
const round2 = (x: number): number => Math.round(x * 100) / 100;

await runIfMain(import.meta.url, bench);

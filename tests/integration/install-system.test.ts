import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Health } from '../../contracts/index.js';
import { generateToken, hashToken } from '../../server/auth/station-tokens.js';
import { openDatabase } from '../../server/registry/db.js';
import { MIGRATIONS } from '../../server/registry/migrations.js';
import { type FrostwatchProcess, api, freePorts, waitForHttp, watchProcess } from '../helpers/system.js';

/**
 * `scripts/install.sh --system` as an office runs it, into a temp FROSTWATCH_ROOT: the real copy of the built tree
 * (--no-build: the test setup has just built it), then the installed unit's own command line and environment, started
 * as an unprivileged user the way systemd would start it as `frostwatch`. Then the upgrade: the script again, on the
 * same data. Needs root (CI runs as root): to install, and to drop to `nobody`.
 */
const REPO = join(import.meta.dirname, '..', '..');
const INSTALL = join(REPO, 'scripts', 'install.sh');
const isRoot = process.getuid?.() === 0;
const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
/** systemd's PATH for services. */
const SERVICE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const UNITS = ['frostwatch.service', 'frostwatch-gateway.service', 'frostwatch-server.service', 'frostwatch-worker.service'];
/** The daily backup (docs/operations.md, "Backup and restore"), installed beside them. */
const BACKUP_UNITS = ['frostwatch-backup.service', 'frostwatch-backup.timer'];

interface Unit {
  execStart: string[];
  workingDirectory: string;
  environment: Record<string, string>;
  lines: Map<string, string[]>;
}

/** The [Service] settings of a unit file; Environment= split the way systemd does (whitespace, double quotes). */
function readUnit(file: string): Unit {
  const lines = new Map<string, string[]>();
  let section = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      section = line;
      continue;
    }
    if (section !== '[Service]') continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    lines.set(key, [...(lines.get(key) ?? []), line.slice(eq + 1)]);
  }
  const environment: Record<string, string> = {};
  for (const value of lines.get('Environment') ?? []) {
    for (const word of value.match(/(?:"[^"]*"|[^\s"])+/g) ?? []) {
      const assignment = word.replace(/"/g, '');
      const eq = assignment.indexOf('=');
      environment[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  const execStart = (lines.get('ExecStart') ?? []).at(-1) ?? '';
  if (!/^\//.test(execStart)) throw new Error(`ExecStart with a prefix or a relative path: ${execStart}`);
  return {
    execStart: execStart.split(/\s+/),
    workingDirectory: (lines.get('WorkingDirectory') ?? [''])[0] ?? '',
    environment,
    lines,
  };
}

/** KEY=value lines of a systemd EnvironmentFile (the example's are all commented out). */
function readEnvironmentFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) env[match[1]] = (match[2] ?? '').trim().replace(/^"(.*)"$/, '$1');
  }
  return env;
}

function uidOf(name: string): number {
  return Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
}
function gidOf(name: string): number {
  return Number(execFileSync('getent', ['group', name], { encoding: 'utf8' }).split(':')[2]);
}

/** `argv` as `nobody`, with no supplementary groups and no way to gain privileges (the unit's NoNewPrivileges). */
function startAsNobody(argv: string[], cwd: string, env: Record<string, string>): FrostwatchProcess {
  const proc: ChildProcess = spawn(
    'setpriv',
    [`--reuid=${uidOf('nobody')}`, `--regid=${gidOf('nogroup')}`, '--clear-groups', '--no-new-privs', '--', ...argv],
    { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return watchProcess(proc);
}

async function runInstall(root: string): Promise<{ code: number | string; output: string; ms: number }> {
  const started = Date.now();
  const proc = spawn('bash', [INSTALL, '--system', '--no-build'], {
    cwd: REPO,
    env: { ...process.env, FROSTWATCH_ROOT: root },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code, signal] = (await once(proc, 'exit')) as [number | null, string | null];
  return { code: code ?? signal ?? 'unknown', output, ms: Date.now() - started };
}

/** A copy of the registry to read: opening the live file as root could leave root-owned -shm/-wal files beside it. */
function readRegistry<T>(file: string, read: (db: Database.Database) => T): T {
  const copy = `${file}.test-copy`;
  copyFileSync(file, copy);
  const db = new Database(copy, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
    for (const suffix of ['', '-shm', '-wal']) void rm(`${copy}${suffix}`, { force: true });
  }
}

const schemaVersion = (file: string): number => readRegistry(file, (db) => db.pragma('user_version', { simple: true }) as number);

/** The owner of a running process, from /proc. */
function uidOfPid(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'));
  return Number(line?.split(/\s+/)[1]);
}

describe('scripts/install.sh --system into a temp FROSTWATCH_ROOT (as root)', () => {
  // Not skipped: the suite runs as root (scripts/test installs Debian packages); a non-root run fails here, saying why.
  it('runs as root, as the install and the switch to nobody need', () => {
    expect(isRoot, 'run the test suite as root: install.sh --system creates users and chowns, setpriv switches to nobody').toBe(true);
  });

  let root: string;
  const paths = {
    app: '',
    data: '',
    env: '',
    units: '',
    bin: '',
  };
  /** What a test started and has not stopped: killed before the next start, and at the end. */
  let running: FrostwatchProcess | null = null;
  const NEWEST = MIGRATIONS.length;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'frostwatch-install-'));
    chmodSync(root, 0o755); // mkdtemp makes it 0700; nobody must reach the installed app
    paths.app = join(root, 'opt/frostwatch');
    paths.data = join(root, 'var/lib/frostwatch');
    paths.env = join(root, 'etc/frostwatch/frostwatch.env');
    paths.units = join(root, 'etc/systemd/system');
    paths.bin = join(root, 'usr/local/bin/frostwatch');
    // An office upgrading from the release before the newest migration: its registry, with a station in it.
    const old = openDatabase(join(paths.data, 'frostwatch.db'), pino({ level: 'silent' }), MIGRATIONS.slice(0, -1));
    old
      .prepare(
        `INSERT INTO stations (id, name, commune, lat, lon, elevation_m, crop, token_hash, created_at)
       VALUES ('ld-old-01', 'Lát – vườn cũ', 'Lát', 12.02, 108.41, 1510, 'arabica', ?, ?)`,
      )
      .run(await hashToken(generateToken()), Date.now());
    old.close();
  });

  /** SIGKILL what still runs, then its managed influxd (its own process group, so not killed with it). */
  const killLeftovers = async (): Promise<void> => {
    await running?.kill('SIGKILL');
    running = null;
    const pid = Number((await readFile(join(paths.data, 'influxdb', 'influxd.pid'), 'utf8').catch(() => '')).trim());
    if (!(pid > 0) || !existsSync(`/proc/${pid}`)) return;
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && existsSync(`/proc/${pid}`); i += 1) await new Promise((r) => setTimeout(r, 100));
  };

  afterAll(async () => {
    await killLeftovers();
    await rm(root, { recursive: true, force: true, maxRetries: 5 });
  });

  /** The installed frostwatch.service's command line and environment, on free ports, as nobody. */
  const startInstalledUnit = async (): Promise<{ baseUrl: string; fw: FrostwatchProcess; unit: Unit; health: Health | null }> => {
    await killLeftovers(); // a test that failed before stopping its process
    const unit = readUnit(join(paths.units, 'frostwatch.service'));
    const ports = await freePorts();
    const env = {
      PATH: SERVICE_PATH,
      HOME: paths.data,
      USER: 'nobody',
      ...unit.environment,
      // EnvironmentFile= overrides Environment=, as in systemd.
      ...readEnvironmentFile(paths.env),
      // Free ports and loopback for the test; issue 16's schedules off (no forecast from the internet).
      HOST: '127.0.0.1',
      HTTP_PORT: String(ports.http),
      MQTT_PORT: String(ports.mqtt),
      MQTT_WS_PORT: String(ports.ws),
      LOG_LEVEL: 'warn',
      FORECAST_URL: 'off',
      QUIET_HOURS: 'off',
      SURVEY_CALLS: 'off',
    };
    const fw = startAsNobody(unit.execStart, unit.workingDirectory, env);
    running = fw;
    const baseUrl = `http://127.0.0.1:${ports.http}`;
    await waitForHttp(baseUrl, fw, 90_000);
    // The rule engine's thread starts a moment after HTTP listens: `degraded` until then.
    const deadline = Date.now() + 30_000;
    let health: Health | null = null;
    while (Date.now() < deadline) {
      const res = await fetch(`${baseUrl}/health`);
      health = (await res.json()) as Health;
      if (res.status === 200 && health.status === 'ok') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    return { baseUrl, fw, unit, health };
  };

  /** SIGTERM, as systemd's KillSignal: a clean exit well within TimeoutStopSec=40. */
  const stop = async (fw: FrostwatchProcess): Promise<void> => {
    const code = await Promise.race([
      fw.kill('SIGTERM'),
      new Promise<string>((resolve) => setTimeout(() => resolve('still running after 40 s'), 40_000)),
    ]);
    expect(code, fw.output()).toBe(0);
    running = null;
  };

  const stationIds = async (baseUrl: string): Promise<string[]> => {
    const token = (await readFile(join(paths.data, 'admin-token'), 'utf8')).trim();
    const res = await api(baseUrl, token).get('/api/stations');
    expect(res.status).toBe(200);
    return (res.body as { id: string }[]).map((s) => s.id).sort();
  };

  it('installs the app, its production packages, data, settings, units and command under the root', { timeout: 120_000 }, async () => {
    const install = await runInstall(root);
    expect(install.code, install.output).toBe(0);
    expect(install.output).toMatch(/==> app: .*\/opt\/frostwatch\.new/);
    expect(install.output).toMatch(/==> done in \d+ s/);

    expect(existsSync(join(paths.app, 'dist/cli/main.js'))).toBe(true);
    expect(existsSync(join(paths.app, 'dist/server/warnings/engine-worker.js'))).toBe(true);
    expect(existsSync(join(paths.app, 'dashboard/dist/index.html'))).toBe(true);
    expect(existsSync(join(paths.app, 'package.json'))).toBe(true);
    expect(readFileSync(join(paths.app, 'INSTALLED'), 'utf8')).toMatch(/^version=.*\ncommit=/);
    // No tests, benchmarks or dev packages in the installation.
    expect(existsSync(join(paths.app, 'dist/tests'))).toBe(false);
    expect(existsSync(join(paths.app, 'dist/bench'))).toBe(false);
    const packages = await readdir(join(paths.app, 'node_modules'));
    expect(packages).toEqual(expect.arrayContaining(['fastify', 'better-sqlite3', 'aedes', 'twilio']));
    for (const dev of ['vitest', 'typescript', 'vite', 'eslint', 'playwright-core']) expect(packages).not.toContain(dev);
    expect(existsSync(`${paths.app}.new`)).toBe(false);
    expect(existsSync(`${paths.app}.previous`)).toBe(false);

    expect(statSync(paths.data).mode & 0o777).toBe(0o750);
    expect(statSync(paths.env).mode & 0o777).toBe(0o640);
    expect(readFileSync(paths.env, 'utf8')).toBe(readFileSync(join(REPO, 'deploy/systemd/frostwatch.env'), 'utf8'));
    expect(existsSync(`${paths.env}.example`)).toBe(true);
    // The registry found there was copied before anything ran on it: the way back for a rollback.
    expect(schemaVersion(join(paths.data, 'frostwatch.db.before-upgrade'))).toBe(NEWEST - 1);

    for (const name of BACKUP_UNITS) expect(existsSync(join(paths.units, name)), name).toBe(true);
    expect(readFileSync(join(paths.units, 'frostwatch-backup.service'), 'utf8')).toContain(`${join(paths.app, 'dist/cli/main.js')} backup`);
    for (const name of UNITS) {
      const unit = readUnit(join(paths.units, name));
      expect(unit.execStart.slice(1)).toEqual([
        join(paths.app, 'dist/cli/main.js'),
        name === 'frostwatch.service' ? 'up' : name.slice(11, -8),
      ]);
      expect(unit.workingDirectory).toBe(paths.app);
      expect(unit.environment).toMatchObject({ DATA_DIR: paths.data, MALLOC_MMAP_THRESHOLD_: '1048576' });
      expect(unit.lines.get('EnvironmentFile')).toEqual([paths.env]);
      expect(unit.lines.get('ReadWritePaths')).toEqual([paths.data]);
      for (const [key, value] of [
        ['User', 'frostwatch'],
        ['ProtectSystem', 'strict'],
        ['StateDirectory', 'frostwatch'],
        ['NoNewPrivileges', 'yes'],
        ['PrivateTmp', 'yes'],
        ['ProtectHome', 'yes'],
        ['Restart', 'always'],
        ['KillSignal', 'SIGTERM'],
        ['KillMode', 'mixed'],
        ['TimeoutStopSec', '40'],
      ] as const)
        expect(unit.lines.get(key), `${name}: ${key}`).toEqual([value]);
    }
    expect(statSync(paths.bin).mode & 0o111).toBe(0o111);
  });

  it(
    "the installed unit's command line serves /health as an unprivileged user, migrating the older registry",
    { timeout: 150_000 },
    async () => {
      const registry = join(paths.data, 'frostwatch.db');
      // The service's user owns DATA_DIR (in production: `frostwatch`, by install.sh and StateDirectory=).
      execFileSync('chown', ['-R', `${uidOf('nobody')}:${gidOf('nogroup')}`, paths.data]);
      const { baseUrl, fw, health } = await startInstalledUnit();
      expect(health?.status, JSON.stringify(health)).toBe('ok');
      expect(health?.checks['influx']?.ok, JSON.stringify(health)).toBe(true);
      // frostwatch and its managed influxd both run as nobody, and the data they write is nobody's.
      expect(uidOfPid(fw.proc.pid ?? -1)).toBe(uidOf('nobody'));
      const influxdPid = Number(readFileSync(join(paths.data, 'influxdb', 'influxd.pid'), 'utf8').trim());
      expect(uidOfPid(influxdPid)).toBe(uidOf('nobody'));
      expect(statSync(join(paths.data, 'influxdb', 'data')).uid).toBe(uidOf('nobody'));

      // An officer adds a station with the installed command while the service runs.
      const add = startAsNobody(
        [
          paths.bin,
          'station',
          'add',
          '--id',
          'ld-cli-01',
          '--name',
          'Đạ Sar',
          '--commune',
          'Đạ Sar',
          '--lat',
          '11.98',
          '--lon',
          '108.48',
          '--elevation',
          '1540',
          '--json',
        ],
        root,
        { PATH: SERVICE_PATH, LOG_LEVEL: 'warn' },
      );
      expect(await add.exited, add.output()).toBe(0);
      expect(await stationIds(baseUrl)).toEqual(['ld-cli-01', 'ld-old-01']);

      await stop(fw);
      expect(schemaVersion(registry)).toBe(NEWEST);
    },
  );

  it(
    'an upgrade keeps data and settings and the previous app, and the new app starts on the same data, schema current',
    { timeout: 180_000 },
    async () => {
      const edited = `${readFileSync(paths.env, 'utf8')}# edited by the office\nLOG_LEVEL=info\n`;
      await writeFile(paths.env, edited);
      await writeFile(join(paths.app, 'MARK-OF-THE-OLD-APP'), 'x');
      await appendFile(join(paths.data, 'note-of-the-office'), 'kept\n');

      const upgrade = await runInstall(root);
      expect(upgrade.code, upgrade.output).toBe(0);
      expect(upgrade.output).toMatch(/frostwatch\.env kept/);
      expect(upgrade.output).toMatch(new RegExp(`registry \\(schema ${NEWEST}\\) copied`));
      expect(readFileSync(paths.env, 'utf8')).toBe(edited);
      expect(existsSync(join(`${paths.app}.previous`, 'MARK-OF-THE-OLD-APP'))).toBe(true);
      expect(existsSync(join(paths.app, 'MARK-OF-THE-OLD-APP'))).toBe(false);
      expect(existsSync(join(paths.app, 'dist/cli/main.js'))).toBe(true);
      expect(existsSync(`${paths.app}.new`)).toBe(false);
      expect(readFileSync(join(paths.data, 'note-of-the-office'), 'utf8')).toBe('kept\n');
      // The registry was read, not touched: still the service user's, with no root-owned SQLite files beside it.
      for (const name of await readdir(paths.data))
        if (name.startsWith('frostwatch.db') && name !== 'frostwatch.db.before-upgrade')
          expect(statSync(join(paths.data, name)).uid, name).toBe(uidOf('nobody'));

      const { baseUrl, fw, health } = await startInstalledUnit();
      expect(health?.status, JSON.stringify(health)).toBe('ok');
      expect(await stationIds(baseUrl)).toEqual(['ld-cli-01', 'ld-old-01']);
      await stop(fw);

      const registry = join(paths.data, 'frostwatch.db');
      expect(schemaVersion(registry)).toBe(NEWEST);
      const applied = readRegistry(registry, (db) =>
        db.prepare<[], { version: number }>('SELECT version FROM schema_migrations ORDER BY version').all(),
      );
      expect(applied.map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
    },
  );

  it('systemd-analyze verify accepts the shipped units', () => {
    expect(analyze, 'systemd-analyze (Debian package systemd) is needed to check the units').toBeDefined();
    const units = [...UNITS, ...BACKUP_UNITS].map((name) => join(REPO, 'deploy/systemd', name));
    const result = spawnSyncText(analyze!, ['verify', ...units]);
    expect(result.status, result.output).toBe(0);
    expect(result.output).not.toMatch(/unknown (key|section|lvalue)|failed to parse|invalid|not executable/i);
  });
});

/** A command's exit status and everything it printed (systemd-analyze warns on stderr even when it succeeds). */
function spawnSyncText(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

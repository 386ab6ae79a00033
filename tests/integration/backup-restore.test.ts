import { cp, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, ReadingOut, ReadingsResponse } from '../../contracts/index.js';
import { runningManagedInfluxd } from '../../server/backup/influxd-tools.js';
import { MANIFEST_FILE, ManifestSchema } from '../../server/backup/manifest.js';
import { admin, prepareDistrict } from '../helpers/frost-night.js';
import { connackCode, eventually } from '../helpers/mqtt.js';
import { type Api, type FrostwatchProcess, api, freePorts, runFrostwatch, waitForHttp } from '../helpers/system.js';

const START = '2026-12-20T15:00:00+07:00';
const SIM_STATIONS = ['sim-01', 'sim-02', 'sim-03'];

interface Running {
  fw: FrostwatchProcess;
  http: Api;
  mqttUrl: string;
}

/** `frostwatch up` on `dataDir` with its own managed influxd (no INFLUX_URL) and the admin token DATA_DIR keeps. */
async function up(dataDir: string, args: string[]): Promise<Running> {
  for (let attempt = 1; ; attempt += 1) {
    const ports = await freePorts();
    const baseUrl = `http://127.0.0.1:${ports.http}`;
    const fw = runFrostwatch(['up', ...args], {
      DATA_DIR: dataDir,
      HTTP_PORT: String(ports.http),
      MQTT_PORT: String(ports.mqtt),
      MQTT_WS_PORT: String(ports.ws),
    });
    try {
      await waitForHttp(baseUrl, fw, 90_000);
    } catch (error) {
      // A port found free can be taken by another process (parallel tests) before frostwatch binds it: choose again.
      if (attempt < 3 && fw.output().includes('EADDRINUSE')) continue;
      throw error;
    }
    // No ADMIN_TOKEN: the token is the one in DATA_DIR/admin-token, so a restored system answers only if that file came back.
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    return { fw, http: api(baseUrl, token), mqttUrl: `mqtt://127.0.0.1:${ports.mqtt}` };
  }
}

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number | string; output: string; ms: number }> {
  const started = Date.now();
  const fw = runFrostwatch(args, env);
  const code = await fw.exited;
  return { code, output: fw.output(), ms: Date.now() - started };
}

async function readingsOf(http: Api, id: string): Promise<ReadingOut[]> {
  const q = new URLSearchParams({ from: '2026-12-20T00:00:00+07:00', to: '2026-12-23T00:00:00+07:00' });
  const res = await http.get(`/api/stations/${id}/readings?${q.toString()}`);
  expect(res.status).toBe(200);
  return (res.body as ReadingsResponse).readings;
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/**
 * Issue 17 part 2 on real components: `frostwatch up` with its own influxd and a simulated frost night, backed up by
 * `frostwatch backup` while it runs, restored by `frostwatch restore` into a fresh DATA_DIR, and the restored system
 * started and asked through its HTTP API for every station, farmer, alert and reading the first one had. The later
 * cases reuse that backup and those DATA_DIRs (one frost night is the expensive part), so they run after it, in order.
 */
describe('frostwatch backup and restore', () => {
  const temps: string[] = [];
  let dataDir: string;
  let backupDir: string;
  let restoredDir: string;
  let original: Running | undefined;
  let restored: Running | undefined;
  let stationToken: string;

  const temp = async (prefix: string) => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    temps.push(dir);
    return dir;
  };

  beforeAll(async () => {
    dataDir = await prepareDistrict();
    temps.push(dataDir);
    // A station of our own whose token we know: after the restore it must still log in (token-hmac-key came back).
    const added = await admin(dataDir, [
      'station',
      'add',
      '--id',
      'bk-01',
      '--name',
      'Trạm sao lưu',
      '--commune',
      'Đạ Sar',
      '--lat',
      '12.00',
      '--lon',
      '108.45',
      '--elevation',
      '1500',
      '--json',
    ]);
    stationToken = (JSON.parse(added) as { token: string }).token;
    backupDir = join(await temp('frostwatch-backup-'), 'night');
    restoredDir = join(await temp('frostwatch-restored-'), 'data');
  });

  afterAll(async () => {
    await original?.fw.kill('SIGTERM');
    await restored?.fw.kill('SIGTERM');
    for (const dir of temps) await rm(dir, { recursive: true, force: true });
  });

  it('backs up a running system and restores every station, farmer, alert and reading', { timeout: 420_000 }, async () => {
    original = await up(dataDir, ['--sim', '3', '--scenario', 'frost-night', '--speed', '600', '--start', START]);
    const http = original.http;
    // The night has started warning (a frost alert is stored), and every station has readings in InfluxDB.
    await eventually(async () => {
      const alerts = (await http.get('/api/alerts?limit=1000')).body as Alert[];
      expect(alerts.filter((a) => a.kind === 'frost').length).toBeGreaterThan(0);
      for (const id of SIM_STATIONS) expect((await readingsOf(http, id)).length).toBeGreaterThan(10);
    }, 240_000);

    // What the API shows before the backup: everything here must be found again after the restore.
    const stations = ((await http.get('/api/stations')).body as Array<{ id: string }>).map((s) => s.id).sort();
    const farmers = (await http.get('/api/farmers')).body as Array<{ id: number; name: string; phone: string }>;
    const alerts = (await http.get('/api/alerts?limit=1000')).body as Alert[];
    const readings = new Map<string, ReadingOut[]>();
    for (const id of SIM_STATIONS) readings.set(id, await readingsOf(http, id));
    expect(stations).toEqual(['bk-01', ...SIM_STATIONS]);
    expect(farmers).toHaveLength(3);

    // The backup, while the simulated stations keep publishing and the engine keeps deciding.
    const backup = await cli(['backup', backupDir], { DATA_DIR: dataDir });
    expect(backup.output).toContain('Backup complete');
    expect(backup.code).toBe(0);
    expect(original.fw.proc.exitCode).toBeNull();
    const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(backupDir, MANIFEST_FILE), 'utf8')));
    expect(manifest.registry.counts['stations']).toBe(4);
    expect(manifest.registry.counts['farmers']).toBe(3);
    expect(manifest.registry.counts['alerts']).toBeGreaterThanOrEqual(alerts.length);
    expect(manifest.dataFiles.map((f) => f.name).sort()).toEqual(['admin-password', 'admin-token', 'token-hmac-key']);
    expect(manifest.influx.mode).toBe('managed');
    if (manifest.influx.mode === 'managed') {
      expect(manifest.influx.version).toMatch(/^1\./);
      expect(manifest.influx.files.length).toBeGreaterThan(0);
    }
    expect((await stat(backupDir)).mode & 0o777).toBe(0o700);
    console.info(
      `backup: ${backup.ms} ms for the CLI (manifest ${manifest.durationMs} ms), ${await dirBytes(backupDir)} bytes; ` +
        `readings counted ${JSON.stringify(manifest.influx.mode === 'managed' ? manifest.influx.readingsAtLeast : null)}`,
    );
    await original.fw.kill('SIGTERM');
    original = undefined;

    const restore = await cli(['restore', backupDir], { DATA_DIR: restoredDir });
    expect(restore.output).toContain('Restored into');
    expect(restore.code).toBe(0);
    console.info(`restore: ${restore.ms} ms`);

    restored = await up(restoredDir, []);
    const back = restored.http;
    expect(((await back.get('/api/stations')).body as Array<{ id: string }>).map((s) => s.id).sort()).toEqual(stations);
    const farmersBack = (await back.get('/api/farmers')).body as typeof farmers;
    expect(farmersBack.map((f) => [f.id, f.name, f.phone])).toEqual(farmers.map((f) => [f.id, f.name, f.phone]));
    for (const alert of alerts) {
      const res = await back.get(`/api/alerts/${alert.id}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: alert.id, stationId: alert.stationId, kind: alert.kind });
    }
    for (const id of SIM_STATIONS) {
      const after = new Map((await readingsOf(back, id)).map((r) => [r.ts, r]));
      for (const reading of readings.get(id) ?? []) expect(after.get(reading.ts)).toEqual(reading);
    }
    // The token key came back with the registry: a station's token issued before the backup still logs in.
    expect(await connackCode(restored.mqttUrl, 'bk-01', stationToken)).toBe(0);
    expect(await connackCode(restored.mqttUrl, 'bk-01', 'not-the-token')).not.toBe(0);
    await restored.fw.kill('SIGTERM');
    restored = undefined;
  });

  it('refuses a backup into a directory that is not empty', async () => {
    const dir = await temp('frostwatch-full-');
    await writeFile(join(dir, 'something'), 'x');
    const result = await cli(['backup', dir], { DATA_DIR: dataDir });
    expect(result.code).toBe(1);
    expect(result.output).toContain(`${dir} is not empty`);
    expect(result.output).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('refuses a directory without a manifest, and a damaged backup, before touching DATA_DIR', async () => {
    const empty = await temp('frostwatch-nomanifest-');
    const target = join(await temp('frostwatch-target-'), 'data');
    const missing = await cli(['restore', empty], { DATA_DIR: target });
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('has no manifest.json');

    const damaged = join(await temp('frostwatch-damaged-'), 'copy');
    await cp(backupDir, damaged, { recursive: true });
    const db = await readFile(join(damaged, 'frostwatch.db'));
    db[db.length - 100] = (db[db.length - 100] ?? 0) ^ 0xff;
    await writeFile(join(damaged, 'frostwatch.db'), db);
    const refused = await cli(['restore', damaged], { DATA_DIR: target });
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('frostwatch.db differs from the manifest');
    await expect(stat(target)).rejects.toThrow(); // nothing was created
  });

  it('refuses a DATA_DIR that holds data, and with --force moves it aside', { timeout: 120_000 }, async () => {
    const refused = await cli(['restore', backupDir], { DATA_DIR: restoredDir });
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('already holds data');
    expect(refused.output).toContain('--force');

    const forced = await cli(['restore', '--force', backupDir], { DATA_DIR: restoredDir });
    expect(forced.output).toContain('Moved');
    expect(forced.code).toBe(0);
    const aside = (await readdir(restoredDir)).filter((name) => name.startsWith('replaced-'));
    expect(aside).toHaveLength(1);
    expect((await readdir(join(restoredDir, aside[0] ?? ''))).sort()).toEqual(
      expect.arrayContaining(['admin-token', 'frostwatch.db', 'influxdb', 'token-hmac-key']),
    );
  });

  it('backs up a stopped frostwatch by running its influxd for the copy, and stops it after', { timeout: 120_000 }, async () => {
    const dir = join(await temp('frostwatch-stopped-'), 'b');
    const result = await cli(['backup', dir], { DATA_DIR: dataDir });
    expect(result.output).toContain('starting its influxd for the copy');
    expect(result.output).toContain('Backup complete');
    expect(result.code).toBe(0);
    expect(await runningManagedInfluxd(join(dataDir, 'influxdb'))).toBeNull();
    const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')));
    const before = ManifestSchema.parse(JSON.parse(await readFile(join(backupDir, MANIFEST_FILE), 'utf8')));
    // frostwatch ran on after the first backup: the same people and stations, and at least as many alerts and readings.
    for (const table of ['stations', 'farmers', 'officers']) expect(manifest.registry.counts[table]).toBe(before.registry.counts[table]);
    expect(manifest.registry.counts['alerts']).toBeGreaterThanOrEqual(before.registry.counts['alerts'] ?? 1);
    if (manifest.influx.mode === 'managed' && before.influx.mode === 'managed')
      expect(manifest.influx.readingsAtLeast?.['autogen']).toBeGreaterThanOrEqual(before.influx.readingsAtLeast?.['autogen'] ?? 1);
  });

  it('with an external InfluxDB, copies the registry and prints what to run for the readings', async () => {
    const dir = join(await temp('frostwatch-external-'), 'b');
    const result = await cli(['backup', dir], { DATA_DIR: dataDir, INFLUX_URL: 'http://127.0.0.1:9', INFLUX_BUCKET: 'frostwatch' });
    expect(result.code).toBe(0);
    expect(result.output).toContain('influxd backup -portable -db frostwatch -host 127.0.0.1:8088');
    expect(result.output).toContain(`${dir}/influxdb`);
    const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')));
    expect(manifest.influx.mode).toBe('external');

    // Its restore puts back the registry and says how to restore the readings into that InfluxDB.
    const target = join(await temp('frostwatch-external-target-'), 'data');
    const restore = await cli(['restore', dir], { DATA_DIR: target, INFLUX_URL: 'http://127.0.0.1:9', INFLUX_BUCKET: 'frostwatch' });
    expect(restore.code).toBe(0);
    expect(restore.output).toContain('This backup holds no readings');
    expect(restore.output).toContain(`influxd restore -portable -db frostwatch -host 127.0.0.1:8088 ${dir}/influxdb`);
    expect((await readdir(target)).sort()).toEqual(['frostwatch.db', ...manifest.dataFiles.map((f) => f.name)].sort());
  });
});

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, createGateway } from '../../gateway/gateway.js';
import { CachingStationAuthenticator } from '../../server/auth/station-authenticator.js';
import { dataPaths } from '../../server/paths.js';
import { type Db, openDatabase } from '../../server/registry/db.js';
import { StationRepository } from '../../server/registry/stations.js';
import { HOST, connackCode, fixedClock } from '../helpers/mqtt.js';
import { runFrostwatch } from '../helpers/system.js';

/**
 * `frostwatch station import FILE.csv --tokens-out TOKENS.csv`: a district's fleet from a spreadsheet, all or none,
 * the tokens into a new 0600 file and nowhere else.
 */
const HEADER = 'id,name,commune,lat,lon,elevation_m,crop,source,device_id';
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'frostwatch-cli-import-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const file = (name: string) => join(dataDir, name);

async function run(args: string[]): Promise<{ code: number | string; output: string; stderr: string }> {
  const fw = runFrostwatch(args, { DATA_DIR: dataDir });
  let stderr = '';
  fw.proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await fw.exited;
  return { code, output: fw.output(), stderr };
}

/** What the registry holds now, read as the running system would. */
function withStations<T>(action: (stations: StationRepository, db: Db) => T | Promise<T>): Promise<T> {
  const db = openDatabase(dataPaths(dataDir).registry, pino({ level: 'silent' }));
  return Promise.resolve(action(new StationRepository(db, fixedClock), db)).finally(() => db.close());
}

async function readTokens(path: string): Promise<{ id: string; token: string }[]> {
  const [header, ...rows] = (await readFile(path, 'utf8')).trimEnd().split('\n');
  expect(header).toBe('id,token');
  return rows.map((row) => {
    const [id = '', token = ''] = row.split(',');
    return { id, token };
  });
}

describe('frostwatch station import', () => {
  it('registers a good file, writes the tokens once to a new 0600 file, prints none, and a station logs in with its token', async () => {
    const csv = [
      HEADER,
      'ld-imp-a,"Đạ Sar – vườn ông Ha",Đạ Sar,11.98,108.48,1540,,,',
      'ld-imp-b,Lát 2,Lát,12.02,108.42,1520,young,,',
      'ld-imp-c,LoRa 1,Lát,12.03,108.41,1600,,chirpstack,A84041000181C0DE',
    ].join('\n');
    await writeFile(file('good.csv'), csv);
    const result = await run(['station', 'import', file('good.csv'), '--tokens-out', file('good-tokens.csv')]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/^3 stations registered\. Their MQTT tokens are in .*good-tokens\.csv \(mode 0600/m);
    expect((await stat(file('good-tokens.csv'))).mode & 0o777).toBe(0o600);
    const tokens = await readTokens(file('good-tokens.csv'));
    expect(tokens.map((t) => t.id)).toEqual(['ld-imp-a', 'ld-imp-b', 'ld-imp-c']);
    for (const { token } of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(result.output).not.toContain(token);
    }
    await withStations(async (stations) => {
      expect(stations.get('ld-imp-a')).toMatchObject({
        name: 'Đạ Sar – vườn ông Ha',
        commune: 'Đạ Sar',
        elevationM: 1540,
        crop: 'arabica',
      });
      expect(stations.get('ld-imp-b')?.crop).toBe('young');
      expect(stations.byDevice('chirpstack', 'a84041000181c0de')?.id).toBe('ld-imp-c');
      // The real gateway, authenticating against this DATA_DIR's registry: a CONNECT with an imported token succeeds.
      let gateway: Gateway | undefined;
      try {
        gateway = await createGateway({
          authenticator: new CachingStationAuthenticator(stations),
          logger: pino({ level: 'silent' }),
          metrics: new Registry(),
          clock: fixedClock,
        });
        const { mqttPort } = await gateway.listen({ host: HOST, mqttPort: 0, wsPort: 0 });
        const url = `mqtt://${HOST}:${mqttPort}`;
        const [first] = tokens;
        expect(await connackCode(url, first?.id ?? '', first?.token ?? '')).toBe(0);
        expect(await connackCode(url, 'ld-imp-b', first?.token ?? '')).toBe(4); // another station's token
      } finally {
        await gateway?.close();
      }
    });
  });

  it('registers nothing when any line is bad, and reports every bad line with its line number and reason', async () => {
    const csv = [
      HEADER,
      'ld-bad-ok1,Một,Lát,12.0,108.4,1500,,,', // line 2: fine
      'ld-bad-lat,Hai,Lát,120,108.4,1500,,,', // line 3: latitude out of range
      'ld-bad-ok2,Ba,Lát,12.0,108.4,,,,', // line 4: no elevation
      '',
      'ld-bad-ok1,Bốn,Lát,12.0,108.4,1500,,,', // line 6: same id as line 2
      'ld-imp-a,Năm,Lát,12.0,108.4,1500,,,', // line 7: registered by the test above
      'ld-bad-dev,Sáu,Lát,12.0,108.4,1500,,chirpstack,a84041000181c0de', // line 8: device of ld-imp-c
      'ld-bad-crop,Bảy,Lát,12.0,108.4,1500,liberica,,', // line 9: unknown crop
      'ld-bad-ok3,Tám,Lát,"11,95",108.4,1500,,,', // line 10: a decimal comma is fine
    ].join('\n');
    await writeFile(file('bad.csv'), csv);
    const result = await run(['station', 'import', file('bad.csv'), '--tokens-out', file('bad-tokens.csv')]);
    expect(result.code).toBe(1);
    const reported = result.output.split('\n').filter((line) => line.startsWith('  line '));
    expect(reported).toEqual([
      expect.stringMatching(/^ {2}line 3 \(ld-bad-lat\): lat: /),
      expect.stringMatching(/^ {2}line 4 \(ld-bad-ok2\): elevation_m: /),
      '  line 6 (ld-bad-ok1): same id as line 2',
      '  line 7 (ld-imp-a): station ld-imp-a already exists',
      '  line 8 (ld-bad-dev): device a84041000181c0de (chirpstack) is already registered to station ld-imp-c',
      expect.stringMatching(/^ {2}line 9 \(ld-bad-crop\): crop: /),
    ]);
    expect(result.output).toMatch(/^frostwatch: 6 of 8 lines refused; nothing was registered/m);
    expect(existsSync(file('bad-tokens.csv'))).toBe(false);
    await withStations((stations) => {
      for (const id of ['ld-bad-ok1', 'ld-bad-ok2', 'ld-bad-ok3', 'ld-bad-lat']) expect(stations.get(id), id).toBeNull();
      expect(stations.get('ld-imp-a')?.name).toBe('Đạ Sar – vườn ông Ha');
    });
  });

  it('refuses to overwrite an existing tokens file, before registering anything', async () => {
    await writeFile(file('fresh.csv'), `${HEADER}\nld-exist-1,Một,Lát,12.0,108.4,1500,,,\n`);
    await writeFile(file('taken.csv'), 'keep me\n');
    const result = await run(['station', 'import', file('fresh.csv'), '--tokens-out', file('taken.csv')]);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/taken\.csv exists already; give --tokens-out a new file/);
    expect(await readFile(file('taken.csv'), 'utf8')).toBe('keep me\n');
    await withStations((stations) => expect(stations.get('ld-exist-1')).toBeNull());
  });

  it('refuses a file with a missing or unknown column, naming it', async () => {
    await writeFile(file('no-lat.csv'), 'id,name,commune,lon,elevation_m\nld-x,X,Lát,108.4,1500\n');
    const missing = await run(['station', 'import', file('no-lat.csv'), '--tokens-out', file('no-lat-tokens.csv')]);
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/missing column lat in the header/);
    await writeFile(file('extra.csv'), `${HEADER},colour\nld-x,X,Lát,12,108.4,1500,,,,red\n`);
    const unknown = await run(['station', 'import', file('extra.csv'), '--tokens-out', file('extra-tokens.csv')]);
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/unknown column "colour"/);
    expect(existsSync(file('no-lat-tokens.csv')) || existsSync(file('extra-tokens.csv'))).toBe(false);
  });

  it('registers 10,000 stations in one run, with progress on stderr; every token verifies', async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => `ld-fleet-${i},Trạm ${i},Lát,${(11.9 + i / 1e5).toFixed(5)},108.4,1500,,,`);
    await writeFile(file('fleet.csv'), [HEADER, ...rows].join('\n'));
    const started = performance.now();
    const result = await run(['station', 'import', file('fleet.csv'), '--tokens-out', file('fleet-tokens.csv')]);
    const seconds = (performance.now() - started) / 1000;
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/^10000 stations registered\./m);
    const progress = result.stderr.split('\n').filter((line) => line.startsWith('registered '));
    expect(progress).toHaveLength(10);
    expect(progress.at(-1)).toBe('registered 10000 of 10000');
    const tokens = await readTokens(file('fleet-tokens.csv'));
    expect(tokens).toHaveLength(10_000);
    await withStations(async (stations) => {
      const auth = new CachingStationAuthenticator(stations);
      const results = await Promise.all(tokens.map(({ id, token }) => auth.verify(id, Buffer.from(token))));
      expect(results.filter((r) => r !== 'ok')).toEqual([]);
    });
    // Not a benchmark (bench/ has those): a line for whoever reads the test log.
    console.info(`station import of 10,000 rows: ${seconds.toFixed(1)} s including the process start`);
  });
});

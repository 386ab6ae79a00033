import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFrostwatch } from '../helpers/system.js';

/** The `frostwatch` command as a person meets it: help, configuration errors, and the station admin commands. */
describe('frostwatch CLI', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'frostwatch-cli-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  const run = async (args: string[], env: Record<string, string> = {}) => {
    const fw = runFrostwatch(args, { DATA_DIR: dataDir, ...env });
    const code = await fw.exited;
    return { code, output: fw.output() };
  };

  it.each([
    [[]],
    [['up']],
    [['gateway']],
    [['server']],
    [['sim']],
    [['station']],
    [['station', 'add']],
    [['station', 'list']],
    [['station', 'rotate-token']],
  ])('prints help for %j', async (args) => {
    const { code, output } = await run([...args, '--help']);
    expect(code).toBe(0);
    expect(output).toMatch(/^Usage: frostwatch/m);
  });

  it.each([
    ['HTTP_PORT', 'eighty', /^frostwatch: HTTP_PORT: .*\(got "eighty"\)\n$/],
    ['INFLUX_URL', 'localhost:8086', /^frostwatch: INFLUX_URL: expected an http\(s\) URL/],
    ['ADMIN_TOKEN', 'short', /^frostwatch: ADMIN_TOKEN: at least 16 characters \(got "\*\*\*"\)\n$/],
    ['LOG_LEVEL', 'loud', /^frostwatch: LOG_LEVEL: /],
    ['VOICE_ACK_TIMEOUT_S', '5', /^frostwatch: VOICE_ACK_TIMEOUT_S: .*\(got "5"\)\n$/],
  ])('refuses %s=%s with one line naming the variable', async (name, value, expected) => {
    const { code, output } = await run(['up'], { [name]: value });
    expect(code).toBe(1);
    expect(output).toMatch(expected);
    expect(output.trim().split('\n')).toHaveLength(1);
  });

  it('explains that `server` alone needs INGEST_MQTT_URL', async () => {
    const { code, output } = await run(['server']);
    expect(code).toBe(1);
    expect(output).toMatch(/^frostwatch: INGEST_MQTT_URL: required/);
  });

  it('adds, lists and re-keys a station, showing the token only when issued', async () => {
    const add = await run([
      'station',
      'add',
      '--id',
      'ld-cli-01',
      '--name',
      'Đạ Sar – vườn ông Ha',
      '--commune',
      'Đạ Sar',
      '--lat',
      '11.98',
      '--lon',
      '108.48',
      '--elevation',
      '1540',
      '--json',
    ]);
    expect(add.code).toBe(0);
    const issued = JSON.parse(add.output) as { id: string; token: string };
    expect(issued.id).toBe('ld-cli-01');
    expect(issued.token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const again = await run([
      'station',
      'add',
      '--id',
      'ld-cli-01',
      '--name',
      'x',
      '--commune',
      'y',
      '--lat',
      '1',
      '--lon',
      '1',
      '--elevation',
      '1',
    ]);
    expect(again.code).toBe(1);
    expect(again.output).toMatch(/already exists/);

    const list = await run(['station', 'list', '--json']);
    expect(JSON.parse(list.output)).toEqual([
      expect.objectContaining({ id: 'ld-cli-01', name: 'Đạ Sar – vườn ông Ha', elevationM: 1540, crop: 'arabica' }),
    ]);
    expect(list.output).not.toContain(issued.token);

    const rotated = await run(['station', 'rotate-token', 'ld-cli-01', '--json']);
    const fresh = JSON.parse(rotated.output) as { token: string };
    expect(fresh.token).not.toBe(issued.token);
    expect((await run(['station', 'rotate-token', 'ld-nope'])).output).toMatch(/no station "ld-nope"/);
  });

  it('adds a district and places stations, farmers, officers and users in it (issue 18, districts)', async () => {
    expect((await run(['district', 'add', '--id', 'duc-trong', '--name', 'Đức Trọng'])).output).toMatch(
      /District duc-trong \(Đức Trọng\) added/,
    );
    expect((await run(['district', 'add', '--id', 'duc-trong', '--name', 'Khác'])).code).toBe(1);
    const districts = JSON.parse((await run(['district', 'list', '--json'])).output) as { id: string; name: string }[];
    expect(districts.map((d) => [d.id, d.name])).toEqual([
      ['duc-trong', 'Đức Trọng'],
      ['lac-duong', 'Lạc Dương'],
    ]);
    const station = ['--name', 'Hiệp Thạnh 1', '--commune', 'Hiệp Thạnh', '--lat', '11.7', '--lon', '108.4', '--elevation', '950'];
    expect((await run(['station', 'add', '--id', 'dt-cli-01', '--district', 'duc-trong', ...station])).code).toBe(0);
    const nowhere = await run(['station', 'add', '--id', 'dt-cli-02', '--district', 'nowhere', ...station]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.output).toMatch(/unknown district nowhere/);
    const listed = JSON.parse((await run(['station', 'list', '--json'])).output) as { id: string; districtId: string }[];
    expect(listed.find((s) => s.id === 'dt-cli-01')?.districtId).toBe('duc-trong');
    // A farmer goes to their stations' district; an officer to the one named.
    const farmer = await run(['farmer', 'add', '--name', 'K', '--phone', '0912 777 001', '--station', 'dt-cli-01', '--json']);
    expect((JSON.parse(farmer.output) as { districtId: string }).districtId).toBe('duc-trong');
    const officer = await run(['officer', 'add', '--name', 'O', '--phone', '0912 777 002', '--district', 'duc-trong', '--json']);
    expect((JSON.parse(officer.output) as { districtId: string }).districtId).toBe('duc-trong');
    const user = (extra: string[]) =>
      runFrostwatch(
        ['user', 'add', '--name', 'U', '--role', 'officer', '--password-stdin', '--json', ...extra],
        { DATA_DIR: dataDir },
        'a-long-password\n',
      );
    const bound = user(['--username', 'dt-officer', '--district', 'duc-trong']);
    expect(await bound.exited).toBe(0);
    expect(JSON.parse(bound.output())).toMatchObject({ districtId: 'duc-trong' });
    const province = user(['--username', 'province-officer', '--province']);
    expect(await province.exited).toBe(0);
    expect(JSON.parse(province.output())).toMatchObject({ districtId: null });
    const plain = user(['--username', 'plain-officer']);
    expect(await plain.exited).toBe(0);
    expect(JSON.parse(plain.output())).toMatchObject({ districtId: 'lac-duong' });
  });

  it('refuses an invalid station with the field named, without a stack trace', async () => {
    const { code, output } = await run([
      'station',
      'add',
      '--id',
      'Bad/Id',
      '--name',
      'x',
      '--commune',
      'y',
      '--lat',
      '200',
      '--lon',
      '1',
      '--elevation',
      '1',
    ]);
    expect(code).toBe(1);
    expect(output).toMatch(/^frostwatch: invalid station: id: .*lat: /);
    expect(output).not.toMatch(/\bat .*\.js:\d+/);
  });
});

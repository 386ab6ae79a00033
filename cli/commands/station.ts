import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { StationCreateSchema, StationIdSchema, systemClock } from '../../contracts/index.js';
import { parseStationCsv } from '../../server/registry/station-csv.js';
import { type IssuedStation, StationRepository } from '../../server/registry/stations.js';
import { withRegistry } from '../registry.js';
import { collect, fail, out } from '../output.js';

const withRepository = <T>(action: (repo: StationRepository) => T | Promise<T>): Promise<T> =>
  withRegistry((db) => action(new StationRepository(db, systemClock)));

const splitField = (pair: string): [string, string] => {
  const at = pair.indexOf('=');
  return at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
};

/** Above this many lines, `station import` reports its progress on stderr. */
const PROGRESS_EVERY = 1_000;

/** Created, never replaced ('wx'), readable by the owner only: it holds every token of the import. */
function createTokensFile(path: string): { path: string; fd: number } {
  try {
    return { path, fd: openSync(path, 'wx', 0o600) };
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return fail(`${path} exists already; give --tokens-out a new file (it would receive tokens)`);
    return fail(`cannot create ${path}: ${errorCode(error)}`);
  }
}

function writeTokens(fd: number, created: readonly IssuedStation[]): void {
  writeSync(fd, `id,token\n${created.map(({ station, token }) => `${station.id},${token}\n`).join('')}`);
  fsyncSync(fd);
}

function errorCode(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code ?? message;
}

export function registerStationCommands(program: Command): void {
  const station = program.command('station').description('register and manage stations (works on DATA_DIR directly)');

  station
    .command('add')
    .description('register a station and print its MQTT token (shown only this once)')
    .requiredOption('--id <id>', 'station id, also its MQTT username (lower-case letters, digits, dashes)')
    .requiredOption('--name <name>', 'a name people recognise, e.g. "Đạ Sar – vườn ông Ha"')
    .requiredOption('--commune <commune>', 'commune (xã), e.g. Lát, Đạ Sar, Đạ Nhim')
    .requiredOption('--lat <deg>', 'latitude in degrees', Number)
    .requiredOption('--lon <deg>', 'longitude in degrees', Number)
    .requiredOption('--elevation <m>', 'elevation in metres', Number)
    .option('--crop <crop>', 'arabica | robusta | young', 'arabica')
    .option('--district <id>', 'the district (frostwatch district list); default lac-duong')
    .option('--source <source>', 'native | chirpstack | ttn | tasmota | esphome | shelly (docs/devices.md)', 'native')
    .option('--device-id <id>', 'the DevEUI (chirpstack, ttn) or the device MQTT topic (tasmota, esphome, shelly)')
    .option(
      '--preset <preset>',
      'LoRaWAN decoded field names: dragino-lht65 | dragino-lsn50 | milesight-em300-th | sensecap-s210x | generic',
    )
    .option('--field <name=field>', 'map a device field to a reading field, e.g. outdoor_temp=airTempC (repeatable)', collect, [])
    .option('--json', 'print {"id","token"} as JSON')
    .action(async (opts: Record<string, unknown>) => {
      const fields = opts['field'] as string[];
      const fieldMap = fields.length === 0 ? undefined : Object.fromEntries(fields.map(splitField));
      // Network servers print DevEUIs in upper case; frostwatch keeps them in lower case.
      const rawDeviceId = opts['deviceId'];
      const deviceId =
        typeof rawDeviceId === 'string' && (opts['source'] === 'chirpstack' || opts['source'] === 'ttn')
          ? rawDeviceId.toLowerCase()
          : rawDeviceId;
      const parsed = StationCreateSchema.safeParse({
        ...opts,
        deviceId,
        fieldMap,
        elevationM: opts['elevation'],
        districtId: opts['district'],
      });
      if (!parsed.success)
        return fail(`invalid station: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      const result = await withRepository((repo) => repo.create(parsed.data));
      if (!result.ok)
        return fail(
          result.reason === 'exists'
            ? `station ${parsed.data.id} already exists (use rotate-token for a new token)`
            : result.reason === 'unknown_district'
              ? `unknown district ${parsed.data.districtId ?? ''} (frostwatch district add)`
              : `device ${parsed.data.deviceId ?? ''} (${parsed.data.source ?? 'native'}) is already registered to another station`,
        );
      if (opts['json']) {
        out(JSON.stringify({ id: result.station.id, token: result.token }));
        return;
      }
      out(`Station ${result.station.id} registered.\nMQTT username: ${result.station.id}\nMQTT password (shown once): ${result.token}`);
    });

  station
    .command('import')
    .description(
      'register a list of stations, all or none: CSV with header id,name,commune,lat,lon,elevation_m[,crop,source,device_id,preset]; the tokens go to a new file, never to the screen',
    )
    .argument('<file.csv>', 'the spreadsheet exported as CSV (comma or semicolon separated, UTF-8)')
    .requiredOption(
      '--tokens-out <tokens.csv>',
      'new file for the MQTT tokens (id,token), created with mode 0600; an existing file is refused',
    )
    .option('--district <id>', 'the district of every station in the file; default lac-duong')
    .action(async (path: string, opts: { tokensOut: string; district?: string }) => {
      const text = await readFile(path, 'utf8').catch((error: unknown) => fail(`cannot read ${path}: ${errorCode(error)}`));
      const parsed = parseStationCsv(text);
      if (!parsed.ok) return fail(`${path}: ${parsed.error}`);
      const { lines } = parsed;
      if (lines.length === 0) return fail(`${path}: no stations below the header`);
      const tokensFile = createTokensFile(opts.tokensOut);
      let committed = false;
      try {
        const result = await withRepository((repo) =>
          repo.createMany(
            lines.map(({ candidate }) =>
              candidate.ok && opts.district !== undefined
                ? { ok: true, station: { ...candidate.station, districtId: opts.district } }
                : candidate,
            ),
            {
              label: (index) => `line ${lines[index]?.line ?? '?'}`,
              onProgress: (done, total) => {
                if (total > PROGRESS_EVERY) process.stderr.write(`registered ${done} of ${total}\n`);
              },
              // Inside the transaction: if the tokens cannot be written, no station is registered without its token.
              beforeCommit: (created) => writeTokens(tokensFile.fd, created),
            },
          ),
        );
        if (!result.ok) {
          for (const problem of result.problems) {
            const line = lines[problem.index]?.line ?? '?';
            out(`  line ${line}${problem.id === undefined ? '' : ` (${problem.id})`}: ${problem.reason}`);
          }
          return fail(`${result.problems.length} of ${lines.length} lines refused; nothing was registered (${path})`);
        }
        committed = true;
        out(
          `${result.created.length} stations registered. Their MQTT tokens are in ${opts.tokensOut} (mode 0600, shown nowhere else): give each station its own, then delete the file.`,
        );
      } finally {
        closeSync(tokensFile.fd);
        // Nothing registered: the file holds no token, or tokens of a rolled-back import; it must not stay.
        if (!committed) unlinkSync(tokensFile.path);
      }
    });

  station
    .command('list')
    .description('list registered stations')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const stations = await withRepository((repo) => repo.list());
      if (opts.json) {
        out(JSON.stringify(stations, null, 2));
        return;
      }
      if (stations.length === 0) {
        out('No stations registered.');
        return;
      }
      for (const s of stations) {
        out(
          `${s.id.padEnd(20)} ${s.name.padEnd(28)} ${s.commune.padEnd(14)} ${s.districtId.padEnd(14)} ${s.lat.toFixed(4)},${s.lon.toFixed(4)} ${s.elevationM} m  ${s.crop}`,
        );
      }
    });

  station
    .command('rotate-token')
    .description(
      'issue a new token for a station; the old one is refused from the next connect, and a running gateway on this DATA_DIR closes the connection made with it',
    )
    .argument('<id>', 'station id')
    .option('--json', 'print {"id","token"} as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const parsedId = StationIdSchema.safeParse(id);
      if (!parsedId.success) return fail(`invalid station id "${id}"`);
      const token = await withRepository((repo) => repo.rotateToken(parsedId.data));
      if (token === null) return fail(`no station "${id}"`);
      if (opts.json) {
        out(JSON.stringify({ id, token }));
        return;
      }
      out(`New MQTT password for ${id} (shown once): ${token}`);
    });

  station
    .command('revoke')
    .description(
      "withdraw a station's token: a running gateway on this DATA_DIR closes its connection within seconds; refused until rotate-token",
    )
    .argument('<id>', 'station id')
    .action(async (id: string) => {
      const parsedId = StationIdSchema.safeParse(id);
      if (!parsedId.success) return fail(`invalid station id "${id}"`);
      const revoked = await withRepository((repo) => repo.revokeToken(parsedId.data));
      if (!revoked) return fail(`no station "${id}"`);
      out(`Token of ${id} revoked. Issue a new one with: frostwatch station rotate-token ${id}`);
    });
}

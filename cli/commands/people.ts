import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CommuneStationSetSchema, FarmerCreateSchema, OfficerCreateSchema, systemClock, type ContactInput } from '../../contracts/index.js';
import { PeopleRepository, type FarmerRecord } from '../../server/registry/people.js';
import { withRegistry } from '../registry.js';
import { collect, fail, out } from '../output.js';

const withPeople = <T>(action: (people: PeopleRepository) => T | Promise<T>): Promise<T> =>
  withRegistry((db) => action(new PeopleRepository(db, systemClock)));

function issues(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');
}

/** `--contact household:Name:0912345678` → a chain entry for the schema to check; the name may not contain ':'. */
function parseContact(text: string): Record<keyof ContactInput, string> {
  const [role = '', name = '', ...phone] = text.split(':');
  return { role: role.trim(), name: name.trim(), phone: phone.join(':').trim() };
}

export function registerPeopleCommands(program: Command): void {
  registerFarmerCommands(program);
  registerOfficerCommands(program);
  registerCommuneCommands(program);
}

function registerFarmerCommands(program: Command): void {
  const farmer = program.command('farmer').description('register the farmers to warn (works on DATA_DIR directly)');

  farmer
    .command('add')
    .description('register a farmer')
    .requiredOption('--name <name>', 'name, e.g. "Nguyễn Văn Hà"')
    .requiredOption('--phone <phone>', 'mobile number: 0912 345 678, +84912345678 …')
    .option('--language <vi|en>', 'language of the warnings', 'vi')
    .option('--no-diacritics', 'SMS without diacritics (GSM-7), for phones that garble Vietnamese')
    .option('--commune <commune>', 'commune, for warnings through its representative station')
    .option('--station <id>', 'a station the farm depends on (repeatable)', collect, [])
    .option('--district <id>', "the farmer's district; default: their stations' district, else lac-duong")
    .option(
      '--contact <role:name:phone>',
      'escalation chain entry, in order; role household | village_head | officer (repeatable)',
      collect,
      [],
    )
    .option('--json', 'print the farmer as JSON')
    .action(
      async (opts: {
        name: string;
        phone: string;
        language: string;
        diacritics: boolean;
        commune?: string;
        district?: string;
        station: string[];
        contact: string[];
        json?: boolean;
      }) => {
        const parsed = FarmerCreateSchema.safeParse({
          name: opts.name,
          phone: opts.phone,
          language: opts.language,
          diacritics: opts.diacritics,
          commune: opts.commune,
          stationIds: opts.station,
          contacts: opts.contact.map(parseContact),
          districtId: opts.district,
        });
        if (!parsed.success) return fail(`invalid farmer: ${issues(parsed.error)}`);
        const result = await withPeople((people) => people.createFarmer(parsed.data));
        if (!result.ok) return fail(result.message);
        out(opts.json ? JSON.stringify(result.farmer) : `Farmer ${result.farmer.id} registered: ${describeFarmer(result.farmer)}`);
      },
    );

  farmer
    .command('list')
    .description('list registered farmers')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const farmers = await withPeople((people) => people.listFarmers());
      if (opts.json) {
        out(JSON.stringify(farmers, null, 2));
        return;
      }
      if (farmers.length === 0) {
        out('No farmers registered.');
        return;
      }
      for (const f of farmers) out(`${String(f.id).padStart(5)}  ${describeFarmer(f)}`);
    });

  farmer
    .command('import')
    .description('import a farmer list: CSV with header name,phone,language,commune,station_ids,diacritics')
    .argument('<file.csv>', 'the spreadsheet exported as CSV (comma or semicolon separated, UTF-8)')
    .option('--json', 'print the report as JSON')
    .action(async (path: string, opts: { json?: boolean }) => {
      const text = await readFile(path, 'utf8').catch((error: unknown) => {
        const { code, message } = error as NodeJS.ErrnoException;
        return fail(`cannot read ${path}: ${code ?? message}`);
      });
      const result = await withPeople((people) => people.importFarmersCsv(text));
      if (!result.ok) return fail(result.message);
      const { report } = result;
      if (opts.json) out(JSON.stringify(report, null, 2));
      else {
        out(`${report.created} created, ${report.updated} updated, ${report.failed} refused.`);
        for (const row of report.rows) if (!row.ok) out(`  row ${row.row}: ${row.error ?? 'refused'}`);
      }
      // Good rows are saved either way; a non-zero exit tells a script that some lines need fixing.
      if (report.failed > 0) process.exitCode = 2;
    });
}

function registerOfficerCommands(program: Command): void {
  const officer = program.command('officer').description('register agriculture officers (works on DATA_DIR directly)');

  officer
    .command('add')
    .description('register an officer: station health notices, end of every escalation chain')
    .requiredOption('--name <name>', 'name')
    .requiredOption('--phone <phone>', 'mobile number')
    .option('--language <vi|en>', 'language of the notices', 'vi')
    .option('--district <id>', 'the district whose notices the officer gets; default lac-duong')
    .option('--json', 'print the officer as JSON')
    .action(async (opts: { name: string; phone: string; language: string; district?: string; json?: boolean }) => {
      const parsed = OfficerCreateSchema.safeParse({ ...opts, districtId: opts.district });
      if (!parsed.success) return fail(`invalid officer: ${issues(parsed.error)}`);
      const result = await withPeople((people) => people.createOfficer(parsed.data));
      if (!result.ok) return fail(result.message);
      out(
        opts.json
          ? JSON.stringify(result.officer)
          : `Officer ${result.officer.id} registered: ${result.officer.name} ${result.officer.phone}`,
      );
    });

  officer
    .command('list')
    .description('list officers')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const officers = await withPeople((people) => people.officers());
      if (opts.json) {
        out(JSON.stringify(officers, null, 2));
        return;
      }
      if (officers.length === 0) {
        out('No officers registered.');
        return;
      }
      for (const o of officers) out(`${String(o.id).padStart(5)}  ${o.name.padEnd(28)} ${o.phone.padEnd(14)} ${o.language}`);
    });
}

function registerCommuneCommands(program: Command): void {
  program
    .command('commune')
    .description('communes and their representative stations (works on DATA_DIR directly)')
    .command('set-station')
    .description("set a commune's representative station, for its farmers without a station of their own")
    .argument('<commune>', 'commune (xã), e.g. "Đạ Sar"')
    .argument('<stationId>', 'station id')
    .option('--offset <c>', "the commune's farms are this much warmer (+) or colder (−) than the station, °C", Number, 0)
    .action(async (commune: string, stationId: string, opts: { offset: number }) => {
      const parsed = CommuneStationSetSchema.safeParse({ stationId, offsetC: opts.offset });
      if (!parsed.success) return fail(`invalid: ${issues(parsed.error)}`);
      const result = await withPeople((people) => people.setCommuneStation(commune, parsed.data.stationId, parsed.data.offsetC));
      if (!result.ok) return fail(result.message);
      out(
        `Commune ${result.communeStation.commune} → station ${result.communeStation.stationId} (offset ${result.communeStation.offsetC} °C).`,
      );
    });
}

/** Admin terminal output: the full phone is what the officer needs to check the list. */
function describeFarmer(f: FarmerRecord): string {
  const stations = f.subscriptions
    .map((s) => (s.offsetC === 0 ? s.stationId : `${s.stationId}(${s.offsetC > 0 ? '+' : ''}${s.offsetC})`))
    .join(',');
  const via = stations || (f.commune ? `commune ${f.commune}` : '—');
  const stopped = f.optedOutAt === null ? '' : `  STOPPED ${new Date(f.optedOutAt).toISOString().slice(0, 16)}Z (${f.optedOutVia ?? '?'})`;
  return `${f.name.padEnd(24)} ${f.phone.padEnd(14)} ${f.language}${f.diacritics ? '' : '/no-diacritics'}  ${via}${stopped}`;
}

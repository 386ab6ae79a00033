import type { Command } from 'commander';
import { DistrictCreateSchema, systemClock } from '../../contracts/index.js';
import { DistrictRepository } from '../../server/registry/districts.js';
import { withRegistry } from '../registry.js';
import { fail, out } from '../output.js';

const withDistricts = <T>(action: (districts: DistrictRepository) => T | Promise<T>): Promise<T> =>
  withRegistry((db) => action(new DistrictRepository(db, systemClock)));

/** `frostwatch district add|list`: the province's districts (docs/operations.md, "Districts"). */
export function registerDistrictCommands(program: Command): void {
  const district = program.command('district').description("the province's districts (works on DATA_DIR directly)");

  district
    .command('add')
    .description('add a district; stations, farmers, officers and users may then be placed in it with --district')
    .requiredOption('--id <id>', 'lower-case letters, digits, dashes, e.g. duc-trong')
    .requiredOption('--name <name>', 'as messages and reports name it, e.g. "Đức Trọng"')
    .option('--json', 'print the district as JSON')
    .action(async (opts: { id: string; name: string; json?: boolean }) => {
      const parsed = DistrictCreateSchema.safeParse(opts);
      if (!parsed.success)
        return fail(`invalid district: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      const result = await withDistricts((districts) => districts.create(parsed.data));
      if (!result.ok) return fail(result.message);
      out(opts.json ? JSON.stringify(result.district) : `District ${result.district.id} (${result.district.name}) added.`);
    });

  district
    .command('list')
    .description('list the districts')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const districts = await withDistricts((repo) => repo.list());
      if (opts.json) {
        out(JSON.stringify(districts, null, 2));
        return;
      }
      for (const d of districts) out(`${d.id.padEnd(24)} ${d.name}`);
    });
}

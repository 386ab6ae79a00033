import type { Command } from 'commander';
import { IntegrationCreateSchema, systemClock } from '../../contracts/index.js';
import { IntegrationRepository } from '../../server/registry/integrations.js';
import { withRegistry } from '../registry.js';
import { fail, out } from '../output.js';

const withRepository = <T>(action: (repo: IntegrationRepository) => T | Promise<T>): Promise<T> =>
  withRegistry((db) => action(new IntegrationRepository(db, systemClock)));

export function registerIntegrationCommands(program: Command): void {
  const integration = program
    .command('integration')
    .description("MQTT accounts of other systems, e.g. a ChirpStack's MQTT integration (works on DATA_DIR directly; docs/devices.md)");

  integration
    .command('add')
    .description('create an integration account and print its MQTT username and password (shown only this once)')
    .requiredOption('--kind <kind>', 'chirpstack')
    .requiredOption('--name <name>', 'e.g. lac-duong (lower-case letters, digits, dashes); the username is "<kind>:<name>"')
    .option('--json', 'print {"username","password"} as JSON')
    .action(async (opts: { kind: string; name: string; json?: boolean }) => {
      const parsed = IntegrationCreateSchema.safeParse({ kind: opts.kind, name: opts.name });
      if (!parsed.success)
        return fail(`invalid integration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      const credentials = await withRepository((repo) => repo.create(parsed.data));
      if (credentials === null)
        return fail(`integration ${parsed.data.kind}:${parsed.data.name} already exists (remove it first for a new password)`);
      if (opts.json) {
        out(JSON.stringify(credentials));
        return;
      }
      out(
        `Integration ${credentials.username} created.\nMQTT username: ${credentials.username}\nMQTT password (shown once): ${credentials.password}`,
      );
    });

  integration
    .command('list')
    .description('list integration accounts (no secrets)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const accounts = await withRepository((repo) => repo.list());
      if (opts.json) {
        out(
          JSON.stringify(
            accounts.map((a) => ({ ...a, createdAt: new Date(a.createdAt).toISOString() })),
            null,
            2,
          ),
        );
        return;
      }
      if (accounts.length === 0) {
        out('No integration accounts.');
        return;
      }
      for (const a of accounts) out(`${a.username.padEnd(40)} ${a.kind.padEnd(12)} ${new Date(a.createdAt).toISOString()}`);
    });

  integration
    .command('remove')
    .description('remove an integration account: its next MQTT connect is refused')
    .argument('<username>', 'e.g. chirpstack:lac-duong')
    .action(async (username: string) => {
      const removed = await withRepository((repo) => repo.remove(username));
      if (!removed) return fail(`no integration "${username}"`);
      out(`Integration ${username} removed.`);
    });
}

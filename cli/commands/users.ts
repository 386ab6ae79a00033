import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { UserCreateSchema, systemClock } from '../../contracts/index.js';
import { UserRepository } from '../../server/auth/users.js';
import { withRegistry } from '../registry.js';
import { fail, out } from '../output.js';

const withUsers = <T>(action: (users: UserRepository) => T | Promise<T>): Promise<T> =>
  withRegistry((db) => action(new UserRepository(db, systemClock)));

/** The whole of stdin, less one trailing newline (`echo pw |` adds one; a password may still end in spaces). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Asks on the terminal without echoing what is typed. */
async function prompt(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    return await new Promise<string>((resolve) => {
      rl.question(question, resolve);
      muted = true;
    });
  } finally {
    rl.close();
    process.stdout.write('\n');
  }
}

async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) return readStdin();
  if (!process.stdin.isTTY) fail('no terminal to ask the password on: pass it with --password-stdin');
  const first = await prompt('Password (at least 10 characters): ');
  const second = await prompt('Password again: ');
  if (first !== second) fail('the two passwords differ');
  return first;
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('dashboard users: admin, officer, viewer (works on DATA_DIR directly)');

  user
    .command('add')
    .description('create a user who signs in to the dashboard; the password is asked on the terminal or read from stdin')
    .requiredOption('--username <username>', '2–64 lower-case letters, digits, . _ -')
    .requiredOption('--name <name>', 'the person\'s name, e.g. "Nguyễn Thị Lan"')
    .requiredOption('--role <role>', 'admin | officer | viewer')
    .option('--district <id>', 'officer or viewer: the one district they see and act in (default lac-duong)')
    .option('--province', 'officer or viewer: province-wide, every district (admins always are)')
    .option('--password-stdin', 'read the password from standard input (for scripts)')
    .option('--json', 'print the user as JSON')
    .action(
      async (opts: {
        username: string;
        name: string;
        role: string;
        district?: string;
        province?: boolean;
        passwordStdin?: boolean;
        json?: boolean;
      }) => {
        if (opts.province === true && opts.district !== undefined) return fail('give --district or --province, not both');
        const password = await readPassword(opts.passwordStdin === true);
        const districtId = opts.province === true ? null : opts.district;
        const parsed = UserCreateSchema.safeParse({ username: opts.username, name: opts.name, role: opts.role, password, districtId });
        if (!parsed.success)
          return fail(
            `invalid user: ${parsed.error.issues.map((i) => (i.message.includes(':') ? i.message : `${i.path.join('.')}: ${i.message}`)).join('; ')}`,
          );
        const result = await withUsers((users) => users.create(parsed.data));
        if (!result.ok) return fail(result.message);
        const { username, name, role, districtId: district } = result.user;
        if (opts.json) {
          out(JSON.stringify({ username, name, role, districtId: district }));
          return;
        }
        out(`User ${username} (${name}) created with role ${role}, ${district === null ? 'province-wide' : `district ${district}`}.`);
      },
    );

  user
    .command('list')
    .description('list dashboard users')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const users = await withUsers((repo) => repo.list());
      if (opts.json) {
        out(
          JSON.stringify(
            users.map(({ username, name, role, disabled, createdAt, districtId }) => ({
              username,
              name,
              role,
              districtId,
              disabled,
              createdAt: new Date(createdAt).toISOString(),
            })),
            null,
            2,
          ),
        );
        return;
      }
      if (users.length === 0) {
        out('No users. Create the first admin with: frostwatch user add --username … --name … --role admin');
        return;
      }
      for (const u of users) out(`${u.username.padEnd(24)} ${u.role.padEnd(8)} ${u.name}${u.disabled ? '  (disabled)' : ''}`);
    });
}

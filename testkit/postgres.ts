import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../server/influx/free-port.js';
import { type WatchedProcess, watchProcess } from './process.js';

export interface StartPostgresOptions {
  /** The database created for the caller. */
  database?: string;
  /** The superuser initdb creates; the URL logs in as it (trust on loopback, no password). */
  user?: string;
  startTimeoutMs?: number;
}

export interface TestPostgres {
  /** `postgres://<user>@127.0.0.1:<port>/<database>` */
  readonly url: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** Temp dir: `data/` (the cluster) and the unix socket; removed by stop(). */
  readonly dir: string;
  /** The server's version, as `postgres --version` prints it. */
  readonly version: string;
  /** Runs `psql` on `url` (`-X -A -t -v ON_ERROR_STOP=1`) and resolves with its stdout. */
  psql(sql: string): Promise<string>;
  /** Everything the server printed. */
  output(): string;
  /** Fast shutdown (SIGINT: open sessions are ended, then a checkpoint), then deletes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Signals the postmaster (SIGKILL by default) and waits for it; the temp dir stays until stop(). */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** The newest Debian PostgreSQL (`apt-get install postgresql`): /usr/lib/postgresql/<major>/bin. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root).filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'postgres')))
    : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined) throw new Error(`no PostgreSQL under ${root}: apt-get install postgresql`);
  return join(root, newest, 'bin');
}

/**
 * A PostgreSQL of its own: `initdb` in a temp dir, `postgres` on a free 127.0.0.1 port with its unix socket in the
 * same dir, and a fresh database. PostgreSQL refuses to run as root, so as root both run as the `postgres` user that
 * Debian's package creates (setpriv, which execs: the child is the postmaster itself), in a dir that user owns.
 */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const user = opts.user ?? 'frostwatch';
  const database = opts.database ?? 'frostwatch_test';
  const owner = process.getuid?.() === 0 ? systemUser('postgres') : null;
  const asOwner = (command: string, args: string[]): [string, string[]] =>
    owner ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]] : [command, args];

  const dir = await mkdtemp(join(tmpdir(), 'frostwatch-pg-'));
  if (owner) await chown(dir, owner.uid, owner.gid);
  const dataDir = join(dir, 'data');
  let server: WatchedProcess | null = null;
  try {
    // --no-sync: initdb skips its fsyncs (they guard against a machine crash, which no test makes).
    await run(
      ...asOwner(join(bin, 'initdb'), [
        '-D',
        dataDir,
        '-U',
        user,
        '--auth=trust',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ]),
      dir,
    );
    const version = (await run(join(bin, 'postgres'), ['--version'], dir)).trim();
    const timeoutMs = opts.startTimeoutMs ?? 30_000;
    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await findFreePort();
      server = spawnServer(bin, dataDir, dir, port, asOwner);
      const up = await waitReady(bin, server, port, user, timeoutMs);
      if (up === 'ready') break;
      // A port taken between choosing and binding: try another one.
      if (attempt >= 2 || !/could not (bind|create any TCP)/i.test(server.output())) {
        throw new Error(`postgres did not start (${up}):\n${server.output().slice(-3_000)}`);
      }
    }
    const started = server;
    const urlOf = (db: string): string => `postgres://${user}@127.0.0.1:${port}/${db}`;
    // psql is given the URL itself, so the URL handed out is the one checked.
    const psql = (sql: string, db = database): Promise<string> =>
      run(join(bin, 'psql'), ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', urlOf(db), '-c', sql], dir);
    await psql(`CREATE DATABASE "${database}"`, 'postgres');
    let stopping: Promise<void> | null = null;
    return {
      url: urlOf(database),
      port,
      database,
      user,
      dir,
      version,
      psql: (sql) => psql(sql),
      output: () => started.output(),
      kill: async (signal = 'SIGKILL') => {
        await started.kill(signal);
      },
      stop: () => {
        stopping ??= (async () => {
          await started.kill('SIGINT');
          await rm(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  } catch (err) {
    await server?.kill('SIGINT');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function spawnServer(
  bin: string,
  dataDir: string,
  dir: string,
  port: number,
  asOwner: (c: string, a: string[]) => [string, string[]],
): WatchedProcess {
  const [command, args] = asOwner(join(bin, 'postgres'), [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    // Speed settings that change nothing a test can observe: fsync and full-page writes only matter when the machine
    // (the kernel) crashes, not when postgres is killed — what a killed postmaster wrote is in the page cache. The
    // commit semantics stay: synchronous_commit is left on, so a committed transaction survives a SIGKILL.
    '-c',
    'fsync=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
  ]);
  return watchProcess(
    spawn(command, args, {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C' },
    }),
  );
}

async function waitReady(bin: string, server: WatchedProcess, port: number, user: string, timeoutMs: number): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) return `exited ${String(await server.exited)}`;
    const ready = await run(join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', 'postgres'], '/').then(
      () => true,
      () => false,
    );
    if (ready) return 'ready';
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.kill('SIGINT');
  return `not ready within ${timeoutMs} ms`;
}

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, timeout: 60_000, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${command} ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** 'ready', or why not. */
type Readiness = 'ready' | `exited ${string}` | `not ready within ${number} ms`;

/** uid and gid of a system user, from /etc/passwd (Node has no getpwnam). */
function systemUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  const fields = line?.split(':');
  const uid = Number(fields?.[2]);
  const gid = Number(fields?.[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid))
    throw new Error(`no user ${name} (the postgresql package creates it): PostgreSQL will not run as root`);
  return { uid, gid };
}

import type { Command } from 'commander';
import { pino } from 'pino';
import { UpEnvSchema, loadEnv } from '../../contracts/index.js';
import { runBackup } from '../../server/backup/backup.js';
import { BackupError } from '../../server/backup/manifest.js';
import { runRestore } from '../../server/backup/restore.js';
import { fail, out } from '../output.js';

/** Only what backup and restore read, so an environment file written for `up` or `server` serves them as it is. */
const BackupEnvSchema = UpEnvSchema.pick({
  DATA_DIR: true,
  INFLUX_URL: true,
  INFLUX_BUCKET: true,
  INFLUX_TOKEN: true,
  INFLUX_ORG: true,
  LOG_LEVEL: true,
});

function settings() {
  const env = loadEnv(BackupEnvSchema, process.env);
  // Logs (influxd's own, when one is started) go to stderr: stdout carries the progress lines.
  const logger = pino({ level: env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL }, pino.destination(2));
  const influx = { url: env.INFLUX_URL, bucket: env.INFLUX_BUCKET, token: env.INFLUX_TOKEN, org: env.INFLUX_ORG };
  return { env, logger, influx };
}

/** A BackupError is a sentence for the operator; anything else keeps main's "failed:" form. */
async function asCliError<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof BackupError) fail(error.message);
    throw error;
  }
}

export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .argument('<dir>', 'a new or empty directory to write the backup into')
    .description(
      'copy DATA_DIR while frostwatch runs: the SQLite registry (SQLite backup API), the key files beside it, and the managed ' +
        "InfluxDB's database (influxd backup -portable), with a manifest.json. With INFLUX_URL set, prints what to run for InfluxDB.\n" +
        'Reads: DATA_DIR, INFLUX_URL, INFLUX_BUCKET, INFLUX_ORG, LOG_LEVEL.',
    )
    .action(async (dir: string) => {
      const { env, logger, influx } = settings();
      const result = await asCliError(() =>
        runBackup({ dataDir: env.DATA_DIR, dir, influx, frostwatchVersion: program.version() ?? 'unknown', logger, progress: out }),
      );
      if (result.externalCommands.length > 0) {
        out("Back up the readings with InfluxDB's own tool; run:");
        for (const line of result.externalCommands) out(`  ${line}`);
      }
    });
}

export function registerRestoreCommand(program: Command): void {
  program
    .command('restore')
    .argument('<dir>', 'a directory written by `frostwatch backup`')
    .option('--force', 'DATA_DIR holds data already: move it aside (into DATA_DIR/replaced-<time>/) and restore')
    .description(
      'restore a backup into DATA_DIR (new or empty, or --force) with frostwatch stopped: checks the backup against its manifest, ' +
        "then the registry, the key files, and the readings into DATA_DIR's own influxd.\n" +
        'Reads: DATA_DIR, INFLUX_URL, INFLUX_BUCKET, INFLUX_ORG, LOG_LEVEL.',
    )
    .action(async (dir: string, opts: { force?: boolean }) => {
      const { env, logger, influx } = settings();
      const result = await asCliError(() =>
        runRestore({ dir, dataDir: env.DATA_DIR, force: opts.force === true, influx, logger, progress: out }),
      );
      if (result.externalCommands.length > 0) {
        out("Restore the readings with InfluxDB's own tool; run:");
        for (const line of result.externalCommands) out(`  ${line}`);
      }
      out(`Restored into ${env.DATA_DIR}. Start frostwatch as usual (frostwatch up, or systemctl start frostwatch).`);
    });
}

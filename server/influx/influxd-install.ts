import { spawn } from 'node:child_process';
import type { Logger } from 'pino';

export const INSTALL_COMMAND = 'sudo apt-get install -y influxdb';

export interface InstallOptions {
  /** Binary name or path; default `influxd` looked up on PATH. */
  binary: string;
  installIfMissing: boolean;
  logger: Logger;
}

interface RunResult {
  code: number | null;
  /** The program could not be started at all (not on PATH). */
  missing: boolean;
  output: string;
}

function run(command: string, args: string[], onLine?: (line: string) => void): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-4_000);
      if (onLine)
        text
          .split('\n')
          .filter((l) => l.trim() !== '')
          .forEach(onLine);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err: NodeJS.ErrnoException) => resolve({ code: null, missing: err.code === 'ENOENT', output: err.message }));
    child.on('close', (code) => resolve({ code, missing: false, output }));
  });
}

/** Whether `binary` runs: `influxd version` prints and exits 0. */
export async function influxdAvailable(binary: string): Promise<boolean> {
  const result = await run(binary, ['version']);
  return result.code === 0;
}

/**
 * Make sure influxd can be run. Missing and allowed (root with apt-get): install Debian's
 * `influxdb` package, refreshing the package lists once if the first attempt fails. Otherwise
 * throw an error whose message is the one command the operator should run.
 */
export async function ensureInfluxdInstalled(opts: InstallOptions): Promise<string> {
  if (await influxdAvailable(opts.binary)) return opts.binary;
  const isRoot = process.getuid?.() === 0;
  if (!opts.installIfMissing || !isRoot) throw new Error(INSTALL_COMMAND);
  const logLine = (line: string): void => opts.logger.info({ line }, 'apt-get');
  opts.logger.warn('influxd not found; installing the Debian package influxdb');
  let result = await run('apt-get', ['install', '-y', 'influxdb'], logLine);
  if (result.missing) throw new Error(INSTALL_COMMAND);
  if (result.code !== 0) {
    opts.logger.warn('apt-get install failed; refreshing package lists and trying again');
    await run('apt-get', ['update'], logLine);
    result = await run('apt-get', ['install', '-y', 'influxdb'], logLine);
  }
  if (result.code !== 0 || !(await influxdAvailable(opts.binary))) {
    throw new Error(`installing influxdb failed (${INSTALL_COMMAND}):\n${result.output.slice(-1_000)}`);
  }
  opts.logger.info('influxdb installed');
  return opts.binary;
}

import { readFile, rm, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';

/**
 * If frostwatch itself is killed with SIGKILL, its influxd child lives on, holding the data directory's lock
 * and the port, so the next start would fail. The pid file lets the next start find and stop that orphan —
 * but only a process whose command line names our config file, never an unrelated process that reused the pid.
 */
export async function stopOrphanInfluxd(pidFile: string, configPath: string, logger: Logger): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.split('\0').includes(configPath)) {
    await rm(pidFile, { force: true });
    return;
  }
  logger.warn({ pid }, 'stopping an influxd left running by an earlier frostwatch');
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; waited < 10_000 && isAlive(pid); waited += 100) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (let waited = 0; waited < 5_000 && isAlive(pid); waited += 100) await new Promise((r) => setTimeout(r, 100));
  await rm(pidFile, { force: true });
}

export async function writePidFile(pidFile: string, pid: number | undefined): Promise<void> {
  if (pid !== undefined) await writeFile(pidFile, `${pid}\n`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

import type { Logger } from 'pino';
import { type ManagedInfluxd, startManagedInfluxd } from '../influx/managed-influxd.js';

/**
 * DATA_DIR's influxd, run by backup or restore for the length of the copy. influxd runs in a process group of its
 * own (managed-influxd.ts), so a Ctrl+C at the terminal reaches this command only: without the handlers below an
 * interrupted restore would leave influxd running on DATA_DIR, and the next restore would take it for a running
 * frostwatch. On SIGINT or SIGTERM it is stopped (once it is up, if the signal came while it started) and the
 * process exits with 130.
 */
export async function startTemporaryInfluxd(influxDir: string, logger: Logger, progress: (line: string) => void): Promise<ManagedInfluxd> {
  let influxd: ManagedInfluxd | null = null;
  let interrupted = false as boolean; // set by the handler, which flow analysis does not see
  const stopAndExit = (running: ManagedInfluxd) => void running.stop().finally(() => process.exit(130));
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`Interrupted (${signal}): stopping the influxd started for the copy`);
    interrupted = true;
    if (influxd) stopAndExit(influxd);
  };
  const release = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    influxd = await startManagedInfluxd({ dataDir: influxDir, port: 0, logger, installIfMissing: false });
  } catch (error) {
    release();
    throw error;
  }
  const running = influxd;
  if (interrupted) {
    stopAndExit(running);
    // Never settles: the process exits once influxd has stopped.
    return new Promise<ManagedInfluxd>(() => undefined);
  }
  return {
    url: running.url,
    port: running.port,
    get pid() {
      return running.pid;
    },
    stop: async () => {
      release();
      await running.stop();
    },
  };
}

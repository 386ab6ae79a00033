import type { Logger } from 'pino';

export interface Stoppable {
  name: string;
  close(): Promise<void>;
}

const STEP_TIMEOUT_MS = 15_000;

/**
 * Close parts in the order given (the order data flows: intake first, stores last). Each step is bounded in
 * time, and a failed step is logged and does not stop the rest.
 */
export async function closeInOrder(parts: readonly Stoppable[], logger: Logger): Promise<void> {
  for (const part of parts) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STEP_TIMEOUT_MS);
    });
    try {
      const outcome = await Promise.race([part.close().then(() => 'closed' as const), timeout]);
      if (outcome === 'timeout') logger.error({ part: part.name }, 'shutdown step timed out; going on');
      else logger.debug({ part: part.name }, 'closed');
    } catch (error) {
      logger.error({ part: part.name, err: error instanceof Error ? error.message : String(error) }, 'shutdown step failed; going on');
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Resolve on the first SIGINT or SIGTERM; a second signal exits at once. */
export function untilSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      received = true;
      logger.info({ signal }, 'shutting down');
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

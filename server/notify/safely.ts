import type { Logger } from 'pino';

/**
 * Run a caller-supplied hook (onGaveUp, onAcknowledged, onUnreached) so that its failure is logged
 * loudly but cannot stop the worker that has other farmers to warn.
 */
export function safely(logger: Logger, hook: string, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    logger.error({ err: error, hook }, 'notification hook failed');
  }
}

import { pino, type Logger } from 'pino';
import type { z } from 'zod';
import type { LogLevelSchema } from '../contracts/index.js';

/** Paths pino blanks out wherever they appear: credentials and phone numbers never reach a log line. */
export const REDACT_PATHS = [
  'password',
  'token',
  '*.password',
  '*.token',
  'req.headers.authorization',
  'headers.authorization',
  'phone',
  '*.phone',
];

/** The one root logger of a process; components get children of it. JSON lines, to stdout or a file. */
export function createLogger(level: z.infer<typeof LogLevelSchema>, file?: string): Logger {
  const destination = file ? pino.destination({ dest: file, mkdir: true, sync: false }) : pino.destination(1);
  return pino({ level, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: '***' } }, destination);
}

/**
 * One outbox sender as a process of its own, for tests of several senders sharing a PostgreSQL outbox: the real
 * notifier (worker, recorder, the `twilio` package) on its own PgDb session, sending to a Twilio-compatible server.
 * Run from dist: `node dist/testkit/outbox-sender.js '<SenderConfig as JSON>'`. It logs pino JSON lines on stdout
 * (the session it claims rows under, the rows it recovers) and closes cleanly on SIGTERM; SIGKILL is the crash.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '../contracts/index.js';
import { createNotifier } from '../server/notify/sender.js';
import { createTwilioSender } from '../server/notify/twilio-client.js';
import { openPostgres } from '../server/registry/pg/pg-db.js';

export interface SenderConfig {
  databaseUrl: string;
  /** The sender's name: its status callbacks go to `http://127.0.0.1:9/<name>/…`, which tells its requests apart. */
  name: string;
  twilioUrl: string;
  accountSid: string;
  authToken: string;
  from: string;
  /** Per-request timeout at Twilio. */
  timeoutMs: number;
  concurrency: number;
  recoverEveryMs: number;
  recoverGraceMs: number;
}

/** The status-callback base of sender `name` (no server listens there; the tests read it from Twilio's requests). */
export function senderPublicUrl(name: string): string {
  return `http://127.0.0.1:9/${name}`;
}

function main(): void {
  const config = JSON.parse(process.argv[2] ?? '{}') as SenderConfig;
  const logger = pino({ level: 'info', base: { sender: config.name } });
  const db = openPostgres(config.databaseUrl, logger, undefined, undefined, { applicationName: `outbox-sender-${config.name}` });
  const notifier = createNotifier({
    db,
    twilio: createTwilioSender({
      accountSid: config.accountSid,
      authToken: config.authToken,
      from: config.from,
      apiUrl: config.twilioUrl,
      publicUrl: senderPublicUrl(config.name),
      timeoutMs: config.timeoutMs,
    }),
    clock: systemClock,
    logger,
    metrics: new Registry(),
    rateLimitPerSec: 1_000,
    callsPerSec: 1_000,
    concurrency: config.concurrency,
    idlePollMs: 50,
    backoff: { baseMs: 20, maxMs: 100 },
    recoverEveryMs: config.recoverEveryMs,
    recoverGraceMs: config.recoverGraceMs,
  });
  notifier.start();
  logger.info('sender started');
  process.once('SIGTERM', () => {
    void notifier.close().finally(() => {
      db.close();
      logger.info('sender closed');
      process.exit(0);
    });
  });
}

main();

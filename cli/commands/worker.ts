import type { Command } from 'commander';
import { WorkerEnvSchema, anchoredClock, loadEnv, systemClock } from '../../contracts/index.js';
import { assembleWorker } from '../../server/cluster/assemble-worker.js';
import { applyHeapPolicy } from '../../server/heap-policy.js';
import { closeInOrder, untilSignal } from '../lifecycle.js';
import { createLogger } from '../logger.js';
import { out } from '../output.js';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'run a cluster worker (docs/scale-out.md): holds a share of the readings log partitions, stores their readings in ' +
        'InfluxDB, runs the rule engine for their stations and sends from the shared outbox. Any number may run.\n' +
        'Reads: DATABASE_URL, NATS_URL, PARTITIONS, NATS_REPLICAS, INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET, DATA_DIR (token key), TZ_NAME, PUBLIC_URL, the TWILIO_*, SMS_* and VOICE_* settings, QUIET_HOURS, FORECAST_URL, SURVEY_CALLS, SAMPLING_FAST_S, SAMPLING_RELAXED_S, SIM_CLOCK, LOG_LEVEL, HEAP_POLICY.',
    )
    .action(async () => {
      const env = loadEnv(WorkerEnvSchema, process.env);
      applyHeapPolicy(env.HEAP_POLICY);
      const logger = createLogger(env.LOG_LEVEL);
      const assembled = await assembleWorker({
        settings: env,
        logger,
        clock: env.SIM_CLOCK ? anchoredClock(env.SIM_CLOCK) : systemClock,
        // Its leases went with the session: end, and let systemd start a fresh worker that competes for them again.
        onSessionLost: () => {
          logger.fatal('the PostgreSQL session was lost: exiting so that a fresh worker takes its place');
          logger.flush();
          process.exit(75);
        },
      });
      out(`frostwatch worker: ${env.PARTITIONS} partitions, NATS ${env.NATS_URL.split(',').length} server(s)`);
      await untilSignal(logger);
      await closeInOrder([{ name: 'worker', close: () => assembled.close() }], logger);
      logger.flush();
    });
}

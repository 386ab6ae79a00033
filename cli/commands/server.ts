import type { Command } from 'commander';
import { ServerEnvSchema, anchoredClock, loadEnv, systemClock } from '../../contracts/index.js';
import { assembleServer } from '../../server/assemble.js';
import { consumerEdge } from '../../server/broker-edge.js';
import { influxEndpoint } from '../influx.js';
import { closeInOrder, untilSignal } from '../lifecycle.js';
import { createLogger } from '../logger.js';
import { loadTlsCredentials, loadTrustedCas } from '../tls-files.js';
import { fail, out } from '../output.js';
import { applyHeapPolicy } from '../../server/heap-policy.js';

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description(
      'run the HTTP API and ingest alone, consuming readings from the broker at INGEST_MQTT_URL ' +
        '(a `frostwatch gateway`, Mosquitto or EMQX) with a persistent session.\n' +
        'Reads: HOST, HTTP_PORT, DATA_DIR, INGEST_MQTT_URL, TLS_CA_FILE, TLS_CERT_FILE, TLS_KEY_FILE, HTTP_TRUSTED_PROXIES, INFLUX_* (unset INFLUX_URL → managed influxd), ADMIN_TOKEN, SPOOL_MAX_MB, TTS_* (The Things Stack, docs/devices.md), SAMPLING_FAST_S, SAMPLING_RELAXED_S, SIM_CLOCK, LOG_LEVEL, HEAP_POLICY.',
    )
    .option('--client-id <id>', 'MQTT client id of the consumer; keep it stable so the broker keeps the session', 'frostwatch-ingest')
    .action(async (opts: { clientId: string }) => {
      const env = loadEnv(ServerEnvSchema, process.env);
      applyHeapPolicy(env.HEAP_POLICY);
      // A cluster's HTTP server (docs/scale-out.md): PostgreSQL shared with the workers, which consume the readings.
      const clusterServer = env.DATABASE_URL !== undefined && env.INGEST_MQTT_URL === undefined;
      if (!env.INGEST_MQTT_URL && !clusterServer)
        fail(
          'INGEST_MQTT_URL: required for `frostwatch server` (the broker to consume readings from); `frostwatch up` runs the gateway in-process instead, and in a cluster (DATABASE_URL set) the server consumes nothing',
        );
      const tls = await loadTlsCredentials(env);
      const ca = await loadTrustedCas(env);
      const logger = createLogger(env.LOG_LEVEL);
      const influx = await influxEndpoint(env, logger);
      const runtime = await assembleServer({
        settings: env,
        influxUrl: influx.url,
        logger,
        // SIM_CLOCK: a cluster's processes on one simulated time line (docs/scale-out.md).
        clock: env.SIM_CLOCK ? anchoredClock(env.SIM_CLOCK) : systemClock,
        tls,
        ...(env.INGEST_MQTT_URL === undefined
          ? { clusterServer: true }
          : { edge: consumerEdge({ url: env.INGEST_MQTT_URL, clientId: opts.clientId, ca }) }),
      });
      await runtime.listen();
      out(`frostwatch server: API ${runtime.url}/api  docs ${runtime.url}/docs  health ${runtime.url}/health`);
      if (runtime.bootstrapUser)
        out(
          `Dashboard sign-in (shown once, kept in DATA_DIR/admin-password): ${runtime.bootstrapUser.username} / ${runtime.bootstrapUser.password}`,
        );
      if (runtime.adminToken.generated) out(`Admin token (shown once, kept in DATA_DIR/admin-token): ${runtime.adminToken.token}`);
      await untilSignal(logger);
      await closeInOrder(
        [
          { name: 'server (the MQTT consumer first)', close: () => runtime.close() },
          { name: 'influxd', close: () => influx.stop() },
        ],
        logger,
      );
      logger.flush();
    });
}

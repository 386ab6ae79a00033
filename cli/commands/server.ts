import type { Command } from 'commander';
import { ServerEnvSchema, loadEnv, systemClock } from '../../contracts/index.js';
import { startMqttConsumer } from '../../server/ingest/mqtt-consumer.js';
import { Counter } from 'prom-client';
import { createRejectLog } from '../../gateway/reject-log.js';
import { startServerRuntime } from '../../server/runtime.js';
import { clientConfigPublisher } from '../../server/warnings/config-publisher.js';
import { influxEndpoint } from '../influx.js';
import { closeInOrder, untilSignal } from '../lifecycle.js';
import { createLogger } from '../logger.js';
import { loadTlsCredentials, loadTrustedCas } from '../tls-files.js';
import { fail, out } from '../output.js';

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description(
      'run the HTTP API and ingest alone, consuming readings from the broker at INGEST_MQTT_URL ' +
        '(a `frostwatch gateway`, Mosquitto or EMQX) with a persistent session.\n' +
        'Reads: HOST, HTTP_PORT, DATA_DIR, INGEST_MQTT_URL, TLS_CA_FILE, TLS_CERT_FILE, TLS_KEY_FILE, HTTP_TRUSTED_PROXIES, INFLUX_* (unset INFLUX_URL → managed influxd), ADMIN_TOKEN, SPOOL_MAX_MB, LOG_LEVEL.',
    )
    .option('--client-id <id>', 'MQTT client id of the consumer; keep it stable so the broker keeps the session', 'frostwatch-ingest')
    .action(async (opts: { clientId: string }) => {
      const env = loadEnv(ServerEnvSchema, process.env);
      if (!env.INGEST_MQTT_URL)
        fail(
          'INGEST_MQTT_URL: required for `frostwatch server` (the broker to consume readings from); `frostwatch up` runs the gateway in-process instead',
        );
      const tls = await loadTlsCredentials(env);
      const ca = await loadTrustedCas(env);
      const logger = createLogger(env.LOG_LEVEL);
      const influx = await influxEndpoint(env, logger);
      const runtime = await startServerRuntime({ settings: env, influxUrl: influx.url, logger, clock: systemClock, tls });
      const consumer = startMqttConsumer({
        url: env.INGEST_MQTT_URL,
        clientId: opts.clientId,
        sink: runtime.sink,
        // The same reject log as the in-process gateway's, on the consumer's own metric.
        rejects: createRejectLog(
          new Counter({
            name: 'frostwatch_ingest_rejected_total',
            help: 'Readings or messages refused by the ingest, by reason',
            labelNames: ['reason'] as const,
            registers: [runtime.metrics],
          }),
          logger.child({ module: 'ingest' }),
          systemClock,
        ),
        isKnownStation: (id) => runtime.stations.get(id) !== null,
        clock: systemClock,
        logger: logger.child({ module: 'mqtt-consumer' }),
        ca,
      });
      runtime.setConfigPublisher(clientConfigPublisher(consumer.client));
      runtime.setBrokerCheck(() => (consumer.client.connected ? { ok: true } : { ok: false, detail: 'not connected to the broker' }));
      out(`frostwatch server: API ${runtime.url}/api  docs ${runtime.url}/docs  health ${runtime.url}/health`);
      if (runtime.bootstrapUser)
        out(
          `Dashboard sign-in (shown once, kept in DATA_DIR/admin-password): ${runtime.bootstrapUser.username} / ${runtime.bootstrapUser.password}`,
        );
      if (runtime.adminToken.generated) out(`Admin token (shown once, kept in DATA_DIR/admin-token): ${runtime.adminToken.token}`);
      await untilSignal(logger);
      await closeInOrder(
        [
          { name: 'mqtt consumer', close: () => consumer.close() },
          { name: 'server', close: () => runtime.close() },
          { name: 'influxd', close: () => influx.stop() },
        ],
        logger,
      );
      logger.flush();
    });
}

import type { Command } from 'commander';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { GatewayEnvSchema, anchoredClock, loadEnv, systemClock } from '../../contracts/index.js';
import { createGateway, listenOptionsFromEnv } from '../../gateway/gateway.js';
import { DEFAULT_LOCKOUT } from '../../gateway/auth-lockout.js';
import { trafficLimitsFromEnv } from '../../gateway/limits.js';
import { resolveAdminToken } from '../../server/auth/admin-token.js';
import { watchCredentials } from '../../server/auth/credential-watch.js';
import { CachingStationAuthenticator } from '../../server/auth/station-authenticator.js';
import { JetStreamReadingsSink, connectReadingsLog, ensureReadingsStream } from '../../server/cluster/readings-log.js';
import { pgAuthLockout } from '../../server/cluster/pg-auth-lockout.js';
import { openRegistry, registryLocation } from '../../server/registry/open.js';
import { openConfigBucket, serveStationConfigs } from '../../server/cluster/station-configs.js';
import { brokerConfigPublisher } from '../../server/warnings/config-publisher.js';
import { StationRepository } from '../../server/registry/stations.js';
import { closeInOrder, untilSignal } from '../lifecycle.js';
import { createLogger } from '../logger.js';
import { loadTlsCredentials } from '../tls-files.js';
import { out } from '../output.js';
import { applyHeapPolicy } from '../../server/heap-policy.js';

/** The username `frostwatch server` uses to consume from a gateway run apart; its password is the admin token. */
export const SERVER_MQTT_USERNAME = 'frostwatch-server';

export function registerGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description(
      'run the MQTT gateway alone: station authentication, ACL and payload validation; a separate `frostwatch server` ' +
        `consumes from it as "${SERVER_MQTT_USERNAME}" with the admin token as password.\n` +
        'In a cluster (NATS_URL set, docs/scale-out.md) it appends what stations send to the readings log on NATS JetStream ' +
        'instead, and acknowledges a reading only once JetStream has; its registry is then DATABASE_URL.\n' +
        'Reads: HOST, MQTT_PORT, MQTT_HOST, MQTT_WS_PORT, MQTT_TLS_PORT, TLS_CERT_FILE, TLS_KEY_FILE, MQTT_MAX_CONNECTIONS, MQTT_MAX_PUBLISH_PER_S, MQTT_PROXY_PROTOCOL, DATA_DIR (station registry), DATABASE_URL, NATS_URL, PARTITIONS, NATS_REPLICAS, ADMIN_TOKEN, LOG_LEVEL, HEAP_POLICY.',
    )
    .action(async () => {
      const env = loadEnv(GatewayEnvSchema, process.env);
      applyHeapPolicy(env.HEAP_POLICY);
      const tls = await loadTlsCredentials(env);
      const logger = createLogger(env.LOG_LEVEL);
      const db = openRegistry(registryLocation(env), logger.child({ module: 'registry' }), { applicationName: 'frostwatch gateway' });
      // A cluster's gateway: readings go to the replicated log, PUBACK once JetStream has them (docs/scale-out.md).
      // connectReadingsLog: a tls:// URL requires TLS (the client ignores the scheme otherwise), and losing a server is logged.
      const natsLogger = logger.child({ module: 'nats' });
      const nc = env.NATS_URL
        ? await connectReadingsLog({ urls: env.NATS_URL, name: `frostwatch gateway ${process.pid}`, logger: natsLogger })
        : null;
      // Gateways create the stream when it is missing but never rewrite it (replicas, ages are the workers' settings);
      // a P other than the stream's stops the gateway here, before any station is acknowledged into a wrong partition.
      if (nc) {
        await ensureReadingsStream(nc, {
          partitions: env.PARTITIONS,
          replicas: env.NATS_REPLICAS,
          updateExisting: false,
          logger: natsLogger,
        });
      }
      const clock = env.SIM_CLOCK ? anchoredClock(env.SIM_CLOCK) : systemClock;
      const stations = new StationRepository(db, clock);
      // Revocations made by the server or the CLI reach this process through the shared registry file.
      const credentialChanges = watchCredentials({ db, stations, logger: logger.child({ module: 'registry' }) });
      const admin = await resolveAdminToken({ configured: env.ADMIN_TOKEN, dataDir: env.DATA_DIR, logger });
      const metrics = new Registry();
      collectDefaultMetrics({ register: metrics, prefix: 'frostwatch_process_' });
      // A cluster's gateways count wrong tokens together, so a balancer spreading a guesser's attempts gives it no more.
      const sharedLockout = env.DATABASE_URL
        ? pgAuthLockout(env.DATABASE_URL, DEFAULT_LOCKOUT, clock, logger.child({ module: 'gateway' }))
        : null;
      const gateway = await createGateway({
        authenticator: new CachingStationAuthenticator(stations),
        logger: logger.child({ module: 'gateway' }),
        metrics,
        clock,
        serviceAccount: { username: SERVER_MQTT_USERNAME, password: admin.token },
        ...(tls ? { tls } : {}),
        credentialChanges,
        trafficLimits: trafficLimitsFromEnv(env),
        proxyProtocol: env.MQTT_PROXY_PROTOCOL === 'on',
        ...(nc ? { sink: new JetStreamReadingsSink(nc) } : {}),
        ...(sharedLockout ? { sharedLockout } : {}),
      });
      // A cluster's gateway serves every station's current config, retained, from the workers' bucket (docs/scale-out.md).
      const configs = nc
        ? await serveStationConfigs(
            await openConfigBucket(nc, env.NATS_REPLICAS, natsLogger),
            brokerConfigPublisher(gateway.broker),
            logger.child({ module: 'station-configs' }),
          )
        : null;
      const ports = await gateway.listen(listenOptionsFromEnv(env));
      const secure = ports.mqttTlsPort === null ? '' : `  mqtts://${env.HOST}:${ports.mqttTlsPort}`;
      out(
        `frostwatch gateway: mqtt://${env.MQTT_HOST ?? env.HOST}:${ports.mqttPort}  ${tls ? 'wss' : 'ws'}://${env.HOST}:${ports.wsPort}${secure}`,
      );
      await untilSignal(logger);
      await closeInOrder(
        [
          { name: 'gateway', close: () => gateway.close() },
          {
            name: 'credential watch',
            close: () => {
              credentialChanges.close();
              return Promise.resolve();
            },
          },
          {
            name: 'station configs',
            close: () => {
              configs?.stop();
              return Promise.resolve();
            },
          },
          { name: 'readings log', close: () => nc?.drain() ?? Promise.resolve() },
          { name: 'login lockout', close: () => sharedLockout?.close() ?? Promise.resolve() },
          {
            name: 'registry',
            close: () => {
              db.close();
              return Promise.resolve();
            },
          },
        ],
        logger,
      );
      logger.flush();
    });
}

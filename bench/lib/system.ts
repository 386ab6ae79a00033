import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StationId, StationIdSchema, UpEnvSchema, loadEnv, systemClock } from '../../contracts/index.js';
import { brokerConfigPublisher } from '../../server/warnings/config-publisher.js';
import { type Gateway, type ServiceAccount, createGateway } from '../../gateway/gateway.js';
import { UNLIMITED_FOR_BENCH } from '../../gateway/limits.js';
import { type ServerRuntime, startServerRuntime } from '../../server/runtime.js';
import { silentLogger } from './influxd.js';

export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
export const SERVICE_ACCOUNT: ServiceAccount = { username: 'bench-service', password: 'bench-service-password-0123' };

export interface BenchSystem {
  runtime: ServerRuntime;
  gateway: Gateway;
  mqttUrl: string;
  httpUrl: string;
  /** Registers `count` stations `bench-0001…` and returns their MQTT credentials. */
  registerStations(count: number, lat?: number, lon?: number): Promise<StationCredentials[]>;
  /** Gateway (no new publishes), then server (drains the spool), then the data folder. Idempotent. */
  close(): Promise<void>;
}

export interface StationCredentials {
  stationId: StationId;
  token: string;
}

/**
 * The whole system in this process, wired exactly as `frostwatch up` wires it (cli/commands/up.ts), against an
 * InfluxDB the bench owns, in a temp DATA_DIR, logging nothing. The gateway also knows a service account so a
 * benchmark subscriber may listen to all readings, as `frostwatch server` would.
 */
export async function startBenchSystem(influx: { url: string; database: string }): Promise<BenchSystem> {
  const dataDir = await mkdtemp(join(tmpdir(), 'frostwatch-bench-data-'));
  const settings = loadEnv(UpEnvSchema, {
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    HTTP_PORT: '0',
    MQTT_PORT: '0',
    MQTT_WS_PORT: '0',
    INFLUX_URL: influx.url,
    INFLUX_BUCKET: influx.database,
    ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
  });
  const runtime = await startServerRuntime({ settings, influxUrl: influx.url, logger: silentLogger, clock: systemClock });
  const gateway = await createGateway({
    authenticator: runtime.authenticator,
    sink: runtime.sink,
    logger: silentLogger,
    metrics: runtime.metrics,
    clock: systemClock,
    serviceAccount: SERVICE_ACCOUNT,
    trafficLimits: UNLIMITED_FOR_BENCH,
  });
  const ports = await gateway.listen({ host: settings.HOST, mqttPort: 0, wsPort: 0 });
  runtime.setBrokerCheck(() => ({ ok: true, detail: `${gateway.broker.connectedClients} clients` }));
  runtime.setConfigPublisher(brokerConfigPublisher(gateway.broker));
  let closing: Promise<void> | null = null;
  let registered = 0;
  return {
    runtime,
    gateway,
    mqttUrl: `mqtt://127.0.0.1:${ports.mqttPort}`,
    httpUrl: runtime.url,
    registerStations: async (count, lat = 12.02, lon = 108.42) => {
      const out: StationCredentials[] = [];
      for (let i = 0; i < count; i += 1) {
        registered += 1;
        const stationId = StationIdSchema.parse(`bench-${String(registered).padStart(4, '0')}`);
        const created = await runtime.stations.create({
          id: stationId,
          name: `Bench ${registered}`,
          commune: 'Lát',
          lat,
          lon,
          elevationM: 1520,
          crop: 'arabica',
        });
        if (!created.ok) throw new Error(`could not register ${stationId}`);
        out.push({ stationId, token: created.token });
      }
      return out;
    },
    close: () =>
      (closing ??= (async () => {
        await gateway.close();
        await runtime.close();
        await rm(dataDir, { recursive: true, force: true });
      })()),
  };
}

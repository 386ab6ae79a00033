import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../../server/influx/free-port.js';
import { admin } from './frost-night.js';
import { type TestInfluxd, startTestInfluxd } from './influxd.js';
import { eventually } from './mqtt.js';
import { type FrostwatchProcess, runFrostwatch, waitForHttp } from './system.js';
import { ADMIN_TOKEN } from './system-under-test.js';

/**
 * The split deployment of docs/operations.md: `frostwatch gateway` the stations reach, and `frostwatch server`
 * consuming from it as `frostwatch-server` with the admin token, sharing one DATA_DIR (same machine here).
 */
export interface SplitDeployment {
  influx: TestInfluxd;
  dataDir: string;
  mqttUrl: string;
  httpUrl: string;
  gateway: FrostwatchProcess;
  server: FrostwatchProcess;
  /** Start the gateway (again); resolves once it accepts MQTT connections. */
  startGateway(): Promise<void>;
  /** Start the server (again); resolves once it serves HTTP. */
  startServer(): Promise<void>;
  /** Waits until the server reports its broker connection up. */
  serverConsuming(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startSplitDeployment(extraServerEnv: Record<string, string> = {}): Promise<SplitDeployment> {
  const influx = await startTestInfluxd({ database: 'frostwatch' });
  const dataDir = await mkdtemp(join(tmpdir(), 'frostwatch-split-'));
  const [mqttPort, wsPort, httpPort] = [await findFreePort(), await findFreePort(), await findFreePort()];
  // The test stations publish far faster than real ones (many readings in flight at each kill): lift the per-station rate.
  const gatewayEnv = {
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    MQTT_PORT: String(mqttPort),
    MQTT_WS_PORT: String(wsPort),
    ADMIN_TOKEN,
    MQTT_MAX_PUBLISH_PER_S: '10000',
  };
  const serverEnv = {
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    HTTP_PORT: String(httpPort),
    INFLUX_URL: influx.url,
    INFLUX_BUCKET: influx.database,
    ADMIN_TOKEN,
    INGEST_MQTT_URL: `mqtt://frostwatch-server:${ADMIN_TOKEN}@127.0.0.1:${mqttPort}`,
    ...extraServerEnv,
  };
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  // The registry exists before either process opens it (migrations run once, here).
  await admin(dataDir, ['station', 'list']);
  const split: SplitDeployment = {
    influx,
    dataDir,
    httpUrl,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    gateway: runFrostwatch(['gateway'], gatewayEnv),
    server: runFrostwatch(['server'], serverEnv),
    startGateway: async () => {
      split.gateway = runFrostwatch(['gateway'], gatewayEnv);
      await waitForOutput(split.gateway, /frostwatch gateway: mqtt:/);
    },
    startServer: async () => {
      split.server = runFrostwatch(['server'], serverEnv);
      await waitForHttp(httpUrl, split.server);
    },
    serverConsuming: (timeoutMs = 20_000) =>
      eventually(async () => {
        const health = (await (await fetch(`${httpUrl}/health`)).json()) as { checks?: { broker?: { ok?: boolean } } };
        if (health.checks?.broker?.ok !== true) throw new Error('server not connected to the gateway');
      }, timeoutMs),
    stop: async () => {
      await Promise.all([split.server.kill('SIGTERM'), split.gateway.kill('SIGTERM')]);
      await influx.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  await waitForOutput(split.gateway, /frostwatch gateway: mqtt:/);
  await waitForHttp(httpUrl, split.server);
  return split;
}

/** Register a station in the shared registry with the CLI; returns its MQTT password. */
export async function addStation(dataDir: string, id: string): Promise<string> {
  const text = await admin(dataDir, [
    'station',
    'add',
    '--id',
    id,
    '--name',
    `Trạm ${id}`,
    '--commune',
    'Lát',
    '--lat',
    '12.03',
    '--lon',
    '108.40',
    '--elevation',
    '1550',
    '--json',
  ]);
  return (JSON.parse(text.trim().split('\n').at(-1) ?? '{}') as { token: string }).token;
}

export async function waitForOutput(fw: FrostwatchProcess, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false as boolean; // set by the callback below, which flow analysis does not see
  void fw.exited.then(() => (exited = true));
  while (!pattern.test(fw.output())) {
    if (exited || Date.now() > deadline) throw new Error(`no ${pattern} from frostwatch (exited: ${exited}):\n${fw.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

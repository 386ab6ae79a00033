import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadingOut, ReadingsResponse } from '../../contracts/index.js';
import { type TestInfluxd, startTestInfluxd } from './influxd.js';
import { type Api, type FrostwatchProcess, type SystemPorts, api, freePorts, runFrostwatch, waitForHttp } from './system.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

/** `frostwatch up` as a child process, against a real influxd the test owns, in a temp DATA_DIR. */
export interface SystemUnderTest {
  influx: TestInfluxd;
  dataDir: string;
  ports: SystemPorts;
  env: Record<string, string>;
  httpUrl: string;
  mqttUrl: string;
  api: Api;
  fw: FrostwatchProcess;
  /** Start `frostwatch up` again with the same environment (after a kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSystem(extraEnv: Record<string, string> = {}): Promise<SystemUnderTest> {
  const influx = await startTestInfluxd({ database: 'frostwatch' });
  const dataDir = await mkdtemp(join(tmpdir(), 'frostwatch-sut-'));
  const ports = await freePorts();
  const env = {
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    HTTP_PORT: String(ports.http),
    MQTT_PORT: String(ports.mqtt),
    MQTT_WS_PORT: String(ports.ws),
    INFLUX_URL: influx.url,
    INFLUX_BUCKET: influx.database,
    ADMIN_TOKEN,
    ...extraEnv,
  };
  const httpUrl = `http://127.0.0.1:${ports.http}`;
  const sut: SystemUnderTest = {
    influx,
    dataDir,
    ports,
    env,
    httpUrl,
    mqttUrl: `mqtt://127.0.0.1:${ports.mqtt}`,
    api: api(httpUrl, ADMIN_TOKEN),
    fw: runFrostwatch(['up'], env),
    restart: async () => {
      sut.fw = runFrostwatch(['up'], env);
      await waitForHttp(httpUrl, sut.fw);
    },
    stop: async () => {
      await sut.fw.kill('SIGTERM');
      await influx.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  await waitForHttp(httpUrl, sut.fw);
  return sut;
}

export async function registerStation(sut: SystemUnderTest, id: string): Promise<string> {
  const res = await sut.api.post('/api/stations', {
    id,
    name: `Trạm ${id}`,
    commune: 'Lát',
    lat: 12.02,
    lon: 108.42,
    elevationM: 1520,
  });
  if (res.status !== 201) throw new Error(`registering ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { token: string }).token;
}

/** Raw readings of a station between two instants, through the HTTP API. */
export async function readingsOf(sut: SystemUnderTest, id: string, fromMs: number, toMs: number): Promise<ReadingOut[]> {
  const q = new URLSearchParams({ from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() });
  const res = await sut.api.get(`/api/stations/${id}/readings?${q.toString()}`);
  if (res.status !== 200) throw new Error(`readings of ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as ReadingsResponse).readings;
}

export async function metricsText(sut: SystemUnderTest): Promise<string> {
  return (await fetch(`${sut.httpUrl}/metrics`)).text();
}

export function metricFrom(text: string, name: string, labels: Record<string, string> = {}): number {
  const labelText = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const prefix = labelText ? `${name}{${labelText}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? 0 : Number(line.slice(prefix.length));
}

/** Query InfluxDB with Debian's own `influx` CLI — a client nobody here wrote. Returns [time, value] rows. */
export function influxCli(influx: TestInfluxd, query: string): Promise<Array<[number, number]>> {
  const port = new URL(influx.url).port;
  const args = [
    '-host',
    '127.0.0.1',
    '-port',
    port,
    '-database',
    influx.database,
    '-precision',
    'ms',
    '-format',
    'json',
    '-execute',
    query,
  ];
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/influx', args, { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`influx CLI failed: ${stderr || err.message}`));
        return;
      }
      const parsed = JSON.parse(stdout) as { results: Array<{ series?: Array<{ values: Array<[number, number]> }> }> };
      resolve(parsed.results[0]?.series?.[0]?.values ?? []);
    });
  });
}

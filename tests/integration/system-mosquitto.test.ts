import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../server/influx/free-port.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { eventually, mosquittoPub } from '../helpers/mqtt.js';
import { type Api, type FrostwatchProcess, api, runFrostwatch, waitForHttp } from '../helpers/system.js';
import { ADMIN_TOKEN, metricFrom } from '../helpers/system-under-test.js';
import type { ReadingsResponse } from '../../contracts/index.js';

/**
 * `frostwatch server` on its own, consuming from Debian's Mosquitto — a broker nobody here wrote — with a
 * persistent session: readings published while the server is dead (SIGKILL) are delivered after its restart.
 */
describe('frostwatch server consuming from Mosquitto', () => {
  let dir: string;
  let influx: TestInfluxd | undefined;
  let mosquitto: ChildProcess | undefined;
  let mqttPort: number;
  let env: Record<string, string>;
  let fw: FrostwatchProcess | undefined;
  let http: Api;
  let httpUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'frostwatch-mosq-'));
    mqttPort = await findFreePort();
    await writeFile(
      join(dir, 'mosquitto.conf'),
      `listener ${mqttPort} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 10000\n`,
    );
    mosquitto = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    influx = await startTestInfluxd({ database: 'frostwatch' });
    const httpPort = await findFreePort();
    httpUrl = `http://127.0.0.1:${httpPort}`;
    env = {
      DATA_DIR: join(dir, 'data'),
      HTTP_PORT: String(httpPort),
      INFLUX_URL: influx.url,
      INFLUX_BUCKET: influx.database,
      ADMIN_TOKEN,
      INGEST_MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
    };
    fw = runFrostwatch(['server'], env);
    await waitForHttp(httpUrl, fw);
    http = api(httpUrl, ADMIN_TOKEN);
    const created = await http.post('/api/stations', {
      id: 'ld-m',
      name: 'Mosquitto',
      commune: 'Lát',
      lat: 12,
      lon: 108.4,
      elevationM: 1500,
    });
    expect(created.status).toBe(201);
    await eventually(
      async () => expect(await (await fetch(`${httpUrl}/health`)).json()).toMatchObject({ checks: { broker: { ok: true } } }),
      20_000,
    );
  });
  afterAll(async () => {
    await fw?.kill('SIGTERM');
    mosquitto?.kill('SIGTERM');
    if (mosquitto) await once(mosquitto, 'exit');
    await influx?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const pub = (topic: string, payload: string) =>
    mosquittoPub(['-h', '127.0.0.1', '-p', String(mqttPort), '-q', '1', '-t', topic, '-m', payload]);
  const stored = async (fromMs: number, toMs: number) => {
    const q = new URLSearchParams({ from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() });
    return ((await http.get(`/api/stations/ld-m/readings?${q.toString()}`)).body as ReadingsResponse).readings;
  };

  it('stores readings from the broker and refuses unknown stations by reason', async () => {
    const ts = Date.now() - 3_600_000;
    expect((await pub('stations/ld-m/readings', JSON.stringify({ ts, airTempC: 0.5 }))).code).toBe(0);
    expect((await pub('stations/ld-unknown/readings', JSON.stringify({ ts, airTempC: 0.5 }))).code).toBe(0);
    await eventually(async () => expect(await stored(ts - 1, ts + 1)).toEqual([expect.objectContaining({ airTempC: 0.5 })]));
    await eventually(async () => {
      const metrics = await (await fetch(`${httpUrl}/metrics`)).text();
      expect(metricFrom(metrics, 'frostwatch_ingest_rejected_total', { reason: 'unknown_station' })).toBeGreaterThanOrEqual(1);
    });
  });

  it('gets what was published while it was killed, once restarted', async () => {
    await fw!.kill('SIGKILL');
    const base = Date.now() - 2 * 3_600_000;
    for (let i = 0; i < 40; i++) {
      expect((await pub('stations/ld-m/readings', JSON.stringify({ ts: base + i * 1_000, airTempC: 1, seq: i }))).code).toBe(0);
    }
    fw = runFrostwatch(['server'], env);
    await waitForHttp(httpUrl, fw);
    await eventually(
      async () => expect((await stored(base, base + 40_000)).map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i)),
      30_000,
    );
  });
});

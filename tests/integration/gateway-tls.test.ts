import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StationId, readingsTopic } from '../../contracts/index.js';
import { apiRequest } from '../../cli/api-request.js';
import { findFreePort } from '../../server/influx/free-port.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { eventually } from '../helpers/mqtt.js';
import { type FrostwatchProcess, runFrostwatch } from '../helpers/system.js';
import { ADMIN_TOKEN } from '../helpers/system-under-test.js';
import { type TestCerts, makeTestCerts } from '../helpers/tls.js';

let dir: string;
let certs: TestCerts;
let ca: string[];
let influx: TestInfluxd;
const started: FrostwatchProcess[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-tls-'));
  certs = await makeTestCerts(dir);
  ca = [readFileSync(certs.caFile, 'utf8')];
  influx = await startTestInfluxd({ database: 'frostwatch' });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await Promise.all(started.map((fw) => fw.kill('SIGTERM')));
  // Also runs when beforeAll failed part-way, before influx was assigned.
  await (influx as TestInfluxd | undefined)?.stop();
  await rm(dir, { recursive: true, force: true });
});

function start(args: string[], env: Record<string, string>): FrostwatchProcess {
  const fw = runFrostwatch(args, env);
  started.push(fw);
  return fw;
}

/** The API over HTTPS, trusting only the test CA (besides nothing: verification stays on). */
async function call(baseUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const answer = await apiRequest(
    `${baseUrl}${path}`,
    { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
    ca,
  );
  const parsed: unknown = answer.text ? JSON.parse(answer.text) : null;
  return { status: answer.status, body: parsed };
}

async function waitForHttps(baseUrl: string, fw: FrostwatchProcess): Promise<void> {
  await eventually(async () => {
    if (fw.proc.exitCode !== null) throw new Error(`exited early:\n${fw.output()}`);
    await call(baseUrl, 'GET', '/health');
  }, 60_000);
}

async function register(baseUrl: string, id: string): Promise<string> {
  const res = await call(baseUrl, 'POST', '/api/stations', {
    id,
    name: `Trạm ${id}`,
    commune: 'Lát',
    lat: 12.02,
    lon: 108.42,
    elevationM: 1520,
  });
  expect(res.status).toBe(201);
  return (res.body as { token: string }).token;
}

async function storedReadings(baseUrl: string, id: string, sinceMs: number): Promise<Array<{ airTempC: number }>> {
  const q = new URLSearchParams({ from: new Date(sinceMs - 60_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() });
  const res = await call(baseUrl, 'GET', `/api/stations/${id}/readings?${q.toString()}`);
  expect(res.status).toBe(200);
  return (res.body as { readings: Array<{ airTempC: number }> }).readings;
}

async function publishReading(url: string, id: string, token: string, airTempC: number): Promise<void> {
  const client = await mqtt.connectAsync(
    url,
    { username: id, password: token, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, ca },
    false,
  );
  clients.push(client);
  // Resolves on PUBACK, which the gateway sends only once the reading is durable.
  await client.publishAsync(readingsTopic(id as StationId), JSON.stringify({ ts: Date.now(), airTempC }), { qos: 1 });
  await client.endAsync();
}

describe('frostwatch up with TLS_CERT_FILE and TLS_KEY_FILE', () => {
  let https: string;
  let ports: { http: number; mqtt: number; tls: number; ws: number };

  beforeAll(async () => {
    ports = { http: await findFreePort(), mqtt: await findFreePort(), tls: await findFreePort(), ws: await findFreePort() };
    https = `https://127.0.0.1:${ports.http}`;
    const fw = start(['up'], {
      DATA_DIR: join(dir, 'up'),
      HOST: '127.0.0.1',
      MQTT_HOST: '127.0.0.1',
      HTTP_PORT: String(ports.http),
      MQTT_PORT: String(ports.mqtt),
      MQTT_WS_PORT: String(ports.ws),
      MQTT_TLS_PORT: String(ports.tls),
      INFLUX_URL: influx.url,
      INFLUX_BUCKET: influx.database,
      ADMIN_TOKEN,
      TLS_CERT_FILE: certs.certFile,
      TLS_KEY_FILE: certs.keyFile,
    });
    await waitForHttps(https, fw);
  }, 90_000);

  it('stores a QoS 1 reading a station sent over mqtts:// trusting the CA', async () => {
    const token = await register(https, 'tls-01');
    const since = Date.now();
    await publishReading(`mqtts://127.0.0.1:${ports.tls}`, 'tls-01', token, -1.5);
    await eventually(async () => expect((await storedReadings(https, 'tls-01', since)).map((r) => r.airTempC)).toEqual([-1.5]), 20_000);
  });

  it('serves MQTT over WebSocket as wss:// with the same certificate', async () => {
    const token = await register(https, 'tls-wss');
    const since = Date.now();
    await publishReading(`wss://127.0.0.1:${ports.ws}`, 'tls-wss', token, 0.5);
    await eventually(async () => expect((await storedReadings(https, 'tls-wss', since)).map((r) => r.airTempC)).toEqual([0.5]), 20_000);
  });

  it('refuses a client that does not trust the CA, before any credentials are sent', async () => {
    const token = await register(https, 'tls-untrusting');
    const attempt = mqtt.connectAsync(
      `mqtts://127.0.0.1:${ports.tls}`,
      { username: 'tls-untrusting', password: token, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000 },
      false,
    );
    await expect(attempt).rejects.toThrow(/self[- ]signed|unable to (get|verify)|certificate/i);
  });

  it('answers /health over HTTPS, and plain HTTP on that port gets no answer', async () => {
    const health = await call(https, 'GET', '/health');
    expect((health.body as { status: string }).status).toMatch(/^(ok|degraded|down)$/);
    await expect(fetch(`http://127.0.0.1:${ports.http}/health`)).rejects.toThrow();
    await expect(
      fetch(`http://127.0.0.1:${ports.http}/api/stations`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
    ).rejects.toThrow();
  });

  it('marks the session cookie Secure over HTTPS', async () => {
    const password = readFileSync(join(dir, 'up', 'admin-password'), 'utf8').trim();
    const res = await apiRequestRaw(`${https}/api/session`, JSON.stringify({ username: 'admin', password }));
    expect(res.status).toBe(200);
    expect(res.setCookie).toMatch(/fw_session=.*;\s*Secure/i);
  });

  it('frostwatch sim registers over https:// and publishes over mqtts:// with TLS_CA_FILE', async () => {
    const sim = start(['sim', '--stations', '1', '--mqtt-url', `mqtts://127.0.0.1:${ports.tls}`, '--api', https], {
      ADMIN_TOKEN,
      TLS_CA_FILE: certs.caFile,
      DATA_DIR: join(dir, 'up'),
    });
    await eventually(async () => {
      if (sim.proc.exitCode !== null) throw new Error(`sim exited:\n${sim.output()}`);
      const list = await call(https, 'GET', '/api/stations');
      const simulated = (list.body as Array<{ id: string; lastSeenAt: string | null }>).filter((s) => !s.id.startsWith('tls-'));
      expect(simulated.length).toBe(1);
      expect(simulated[0]?.lastSeenAt).not.toBeNull();
    }, 30_000);
    await sim.kill('SIGTERM');
  });
});

describe('split deployment: frostwatch gateway with TLS, frostwatch server consuming over mqtts://', () => {
  it('a reading published over mqtts:// reaches the server through its mqtts:// consumer', async () => {
    const [mqttPort, tlsPort, wsPort, httpPort] = [await findFreePort(), await findFreePort(), await findFreePort(), await findFreePort()];
    const dataDir = join(dir, 'split');
    const gateway = start(['gateway'], {
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      MQTT_PORT: String(mqttPort),
      MQTT_TLS_PORT: String(tlsPort),
      MQTT_WS_PORT: String(wsPort),
      ADMIN_TOKEN,
      TLS_CERT_FILE: certs.certFile,
      TLS_KEY_FILE: certs.keyFile,
    });
    await eventually(() => expect(gateway.output()).toMatch(/mqtts:\/\/127\.0\.0\.1:\d+/), 30_000);
    const server = start(['server'], {
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      INFLUX_URL: influx.url,
      INFLUX_BUCKET: 'frostwatch_split',
      ADMIN_TOKEN,
      INGEST_MQTT_URL: `mqtts://frostwatch-server:${ADMIN_TOKEN}@127.0.0.1:${tlsPort}`,
      TLS_CA_FILE: certs.caFile,
    });
    const http = `http://127.0.0.1:${httpPort}`;
    await eventually(async () => {
      if (server.proc.exitCode !== null) throw new Error(`server exited:\n${server.output()}`);
      const health = (await (await fetch(`${http}/health`)).json()) as { checks: { broker: { ok: boolean } } };
      expect(health.checks.broker.ok).toBe(true);
    }, 60_000);
    const created = await fetch(`${http}/api/stations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'split-tls', name: 'Trạm split', commune: 'Lát', lat: 12.02, lon: 108.42, elevationM: 1520 }),
    });
    const { token } = (await created.json()) as { token: string };
    const since = Date.now();
    await publishReading(`mqtts://127.0.0.1:${tlsPort}`, 'split-tls', token, -2.5);
    await eventually(async () => {
      const q = new URLSearchParams({ from: new Date(since - 60_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() });
      const res = await fetch(`${http}/api/stations/split-tls/readings?${q.toString()}`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(((await res.json()) as { readings: Array<{ airTempC: number }> }).readings.map((r) => r.airTempC)).toEqual([-2.5]);
    }, 20_000);
  }, 120_000);
});

describe('bad certificate configuration', () => {
  const runGateway = async (env: Record<string, string>): Promise<{ code: number | string; output: string }> => {
    const fw = runFrostwatch(['gateway'], {
      DATA_DIR: join(dir, 'bad'),
      MQTT_PORT: '0',
      MQTT_WS_PORT: '0',
      MQTT_TLS_PORT: '0',
      ADMIN_TOKEN,
      ...env,
    });
    return { code: await fw.exited, output: fw.output() };
  };
  const expectOneLine = (output: string, pattern: RegExp) => {
    expect(output.trim().split('\n')).toHaveLength(1);
    expect(output.trim()).toMatch(pattern);
    expect(output).not.toMatch(/\n\s+at /);
  };

  it('a certificate path that does not exist: exit 1 with one line naming TLS_CERT_FILE', async () => {
    const { code, output } = await runGateway({ TLS_CERT_FILE: join(dir, 'missing.pem'), TLS_KEY_FILE: certs.keyFile });
    expect(code).toBe(1);
    expectOneLine(output, /^frostwatch: TLS_CERT_FILE: cannot read .*missing\.pem \(ENOENT\)$/);
  });

  it('frostwatch up fails the same way, before starting anything', async () => {
    const fw = runFrostwatch(['up'], {
      DATA_DIR: join(dir, 'bad-up'),
      TLS_CERT_FILE: certs.certFile,
      TLS_KEY_FILE: join(dir, 'nope.key'),
      ADMIN_TOKEN,
    });
    expect(await fw.exited).toBe(1);
    expectOneLine(fw.output(), /^frostwatch: TLS_KEY_FILE: cannot read .*nope\.key \(ENOENT\)$/);
  });

  it('only one of the two files set: a one-line configuration error', async () => {
    const { code, output } = await runGateway({ TLS_CERT_FILE: certs.certFile });
    expect(code).toBe(1);
    expectOneLine(output, /^frostwatch: TLS_KEY_FILE: required when TLS_CERT_FILE is set/);
  });

  it("a key that is not the certificate's, or a file that is not PEM: refused at start", async () => {
    const mismatch = await runGateway({ TLS_CERT_FILE: certs.certFile, TLS_KEY_FILE: join(dir, 'ca.key') });
    expect(mismatch.code).toBe(1);
    expectOneLine(mismatch.output, /^frostwatch: TLS_KEY_FILE: .* is not the key of the certificate in TLS_CERT_FILE$/);
    const notPem = await runGateway({ TLS_CERT_FILE: join(dir, 'server.ext'), TLS_KEY_FILE: certs.keyFile });
    expectOneLine(notPem.output, /^frostwatch: TLS_CERT_FILE: .* is not a PEM certificate$/);
  });
});

/** POST over HTTPS returning the Set-Cookie header too (the shared `call` keeps only the body). */
async function apiRequestRaw(url: string, body: string): Promise<{ status: number; setCookie: string }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, setCookie: String(res.headers['set-cookie'] ?? '') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

import { execFile, spawn } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { Writable } from 'node:stream';
import mqtt, { type IClientOptions, MqttClient } from 'mqtt';
import { type Logger, pino } from 'pino';
import { Registry } from 'prom-client';
import type { Clock, IngestSink, StationAuthenticator, TokenCheck } from '../../contracts/index.js';
import { type Gateway, type GatewayOptions, createGateway } from '../../gateway/gateway.js';

export const HOST = '127.0.0.1';
/** A fixed instant in a frost season night, so readings' timestamps are always "now" for the gateway. */
export const NOW = Date.UTC(2025, 0, 15, 20, 0, 0);
export const fixedClock: Clock = { now: () => NOW, speed: 1 };

/** The tests' StationAuthenticator: a map of station id → token. */
export function mapAuthenticator(tokens: Record<string, string>): StationAuthenticator {
  return {
    verify: (stationId: string, token: Buffer): Promise<TokenCheck> => {
      const expected = tokens[stationId];
      if (expected === undefined) return Promise.resolve('unknown_station');
      return Promise.resolve(token.toString('utf8') === expected ? 'ok' : 'bad_token');
    },
  };
}

/** A pino logger at `debug` whose raw lines the test can search, e.g. for a secret that must never be logged. */
export function textLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

/** A pino logger whose JSON lines the test can read. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: 'warn' }, sink), lines };
}

export interface RunningGateway {
  gateway: Gateway;
  registry: Registry;
  lines: Array<Record<string, unknown>>;
  mqttUrl: string;
  wsUrl: string;
  mqttPort: number;
}

export async function startGateway(
  tokens: Record<string, string>,
  sink: IngestSink | undefined,
  extra: Partial<GatewayOptions> = {},
): Promise<RunningGateway> {
  const registry = new Registry();
  const { logger, lines } = capturingLogger();
  const gateway = await createGateway({
    authenticator: mapAuthenticator(tokens),
    sink,
    logger,
    metrics: registry,
    clock: fixedClock,
    ...extra,
  });
  const { mqttPort, wsPort } = await gateway.listen({ host: HOST, mqttPort: 0, wsPort: 0 });
  return { gateway, registry, lines, mqttPort, mqttUrl: `mqtt://${HOST}:${mqttPort}`, wsUrl: `ws://${HOST}:${wsPort}` };
}

/** Connects with station credentials; no automatic reconnect unless asked. */
export function connectStation(url: string, stationId: string, token: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(
    url,
    { username: stationId, password: token, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, ...options },
    false,
  );
}

/** Tries to connect and returns the CONNACK return code of the refusal (or 0 if it was accepted). */
export async function connackCode(url: string, username: string, password: string): Promise<number> {
  try {
    const client = await connectStation(url, username, password);
    await client.endAsync();
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

export async function closeClients(...clients: Array<MqttClient | undefined>): Promise<void> {
  await Promise.all(clients.filter((c): c is MqttClient => c !== undefined).map((c) => c.endAsync(true)));
}

/** Value of one Prometheus sample, read from the registry's text exposition (what /metrics serves). */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await registry.metrics();
  const labelText = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const prefix = labelText ? `${name}{${labelText}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? 0 : Number(line.slice(prefix.length));
}

/** Re-checks `check` until it stops throwing; for state with no event to wait on (metrics). */
export async function eventually(check: () => unknown, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export function mosquittoPub(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/usr/bin/mosquitto_pub', args, { timeout: 15_000 }, (err, _stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stderr });
    });
  });
}

export interface MosquittoSub {
  /** Resolves once the broker has acknowledged the subscription. */
  subscribed: Promise<void>;
  /** "topic payload" lines received so far. */
  messages: string[];
  stop(): Promise<void>;
}

/** Runs mosquitto_sub -v -d; debug lines ("Client …") tell when the SUBACK came, the rest are messages. */
export function mosquittoSub(args: string[]): MosquittoSub {
  const child = spawn('/usr/bin/mosquitto_sub', ['-v', '-d', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages: string[] = [];
  let onSubscribed: () => void = () => undefined;
  const subscribed = new Promise<void>((resolve) => (onSubscribed = resolve));
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('received SUBACK')) onSubscribed();
      else if (!line.startsWith('Client ') && !line.startsWith('Subscribed')) messages.push(line);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    subscribed,
    messages,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * CONNECT to `port` from `localAddress` (any 127.x.y.z: another network, as far as the gateway knows) with a real mqtt.js
 * client; the CONNACK return code (0 = accepted, -1 = no answer).
 */
export function connackFrom(port: number, username: string, password: string, localAddress = HOST): Promise<number> {
  return new Promise((resolve) => {
    const client = new MqttClient(() => netConnect({ host: HOST, port, localAddress }), {
      username,
      password,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    });
    client.once('connect', () => client.end(true, {}, () => resolve(0)));
    client.once('error', (err: Error & { code?: number }) =>
      client.end(true, {}, () => resolve(typeof err.code === 'number' ? err.code : -1)),
    );
  });
}

import mqtt, { type MqttClient } from 'mqtt';

export interface PublisherSpec {
  url: string;
  topic: string;
  username?: string;
  password?: string;
}

export interface PublishRun {
  /** QoS 1 publishes answered with PUBACK. */
  acked: number;
  failed: number;
  elapsedMs: number;
  /** One past the highest `seq` any publisher used: where a following run continues without reusing a timestamp. */
  nextSeq: number;
}

export interface PublishOptions {
  durationMs: number;
  /** QoS 1 publishes each publisher keeps in flight. */
  window: number;
  /** The payload of the `seq`-th publish of publisher `index`. */
  payload(index: number, seq: number): string;
  /** The first `seq` of each publisher (default 0). */
  firstSeq?: number;
  /** Called just before each publish, e.g. to note the send time. */
  onSend?(index: number, seq: number): void;
  progress?(acked: number, elapsedMs: number): void;
}

/** mqtt.js clients, MQTT 3.1.1, no reconnect (a benchmark that loses its connection should fail, not retry). */
export async function connectClient(url: string, username?: string, password?: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, clean: true }, false);
}

export async function connectPublishers(specs: readonly PublisherSpec[]): Promise<MqttClient[]> {
  return Promise.all(specs.map((s) => connectClient(s.url, s.username, s.password)));
}

export async function closeClients(clients: readonly MqttClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.endAsync(true)));
}

/** Every publisher keeps `window` QoS 1 publishes in flight until the duration is over, then waits for the last PUBACKs. */
export async function publishFor(
  clients: readonly MqttClient[],
  specs: readonly PublisherSpec[],
  options: PublishOptions,
): Promise<PublishRun> {
  const started = performance.now();
  const deadline = started + options.durationMs;
  const run = { acked: 0, failed: 0 };
  const firstSeq = options.firstSeq ?? 0;
  let nextSeq = firstSeq;
  const ticker = setInterval(() => options.progress?.(run.acked, performance.now() - started), 500);
  const loops: Array<Promise<void>> = [];
  clients.forEach((client, index) => {
    const topic = (specs[index] as PublisherSpec).topic;
    let seq = firstSeq;
    for (let w = 0; w < options.window; w += 1) {
      loops.push(
        (async () => {
          while (performance.now() < deadline && !client.disconnected) {
            const mine = seq++;
            nextSeq = Math.max(nextSeq, seq);
            options.onSend?.(index, mine);
            try {
              await client.publishAsync(topic, options.payload(index, mine), { qos: 1 });
              run.acked += 1;
            } catch {
              run.failed += 1;
            }
          }
        })(),
      );
    }
  });
  try {
    await Promise.all(loops);
  } finally {
    clearInterval(ticker);
  }
  return { ...run, elapsedMs: performance.now() - started, nextSeq };
}

/** Readings 10 s apart: a 5-minute rule window holds 30 of them, as for a fast station, not thousands. */
export const READING_STEP_MS = 10_000;
/** Where a publisher's readings start: 30 days back leaves room for 259,200 readings before "now". */
export const readingsBase = (nowMs: number): number => nowMs - 30 * 86_400_000;

/** A reading as a station sends it; `ts` unique per publish so InfluxDB keeps every one (same series + time overwrites). */
export function readingPayload(baseTs: number, seq: number): string {
  return `{"ts":${baseTs + seq * READING_STEP_MS},"airTempC":${(1.5 + (seq % 100) / 100).toFixed(2)},"rhPct":92,"windMs":0.4,"seq":${seq}}`;
}

/** The publisher load measurements 1 and 2 share, so their figures compare: publishers × QoS 1 publishes in flight each. */
export const PUBLISHERS = 8;
export const WINDOW = 16;

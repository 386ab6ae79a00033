import mqtt, { type MqttClient } from 'mqtt';
import { readingsTopic, type StationId } from '../../contracts/index.js';

/**
 * A station that publishes numbered readings with QoS 1 and a window of unacknowledged publishes, as the
 * simulator and real firmware do, and records exactly which readings got a PUBACK and when.
 */
export interface AckedPublisher {
  readonly stationId: string;
  /** seq → performance.now() of its PUBACK. */
  readonly acked: Map<number, number>;
  /** Readings handed to mqtt.js so far. */
  sent(): number;
  /** performance.now() of the newest PUBACK, or 0. */
  lastAckMs(): number;
  /** The first PUBACK at or after `sinceMs` (performance.now()), polling; rejects after `timeoutMs`. */
  nextAckAfter(sinceMs: number, timeoutMs?: number): Promise<number>;
  /** Stop publishing new readings (those in flight still complete); resolves when all sent are acknowledged. */
  finish(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface PublisherOptions {
  url: string;
  stationId: string;
  token: string;
  /** Epoch ms of seq 0; each next reading is one second later. */
  baseMs: number;
  window?: number;
  /** Pause between publishes once the window allows one, to keep the rate realistic. */
  gapMs?: number;
}

export function startAckedPublisher(options: PublisherOptions): AckedPublisher {
  const { stationId, baseMs, window = 8, gapMs = 5 } = options;
  const client: MqttClient = mqtt.connect(options.url, {
    username: stationId,
    password: options.token,
    clientId: stationId,
    clean: false,
    reconnectPeriod: 100,
    connectTimeout: 2_000,
    protocolVersion: 4,
  });
  client.on('error', () => undefined); // refused or reset while the broker restarts: mqtt.js reconnects
  const topic = readingsTopic(stationId as StationId);
  const acked = new Map<number, number>();
  let sent = 0;
  let inFlight = 0;
  let stopped = false;
  let lastAck = 0;
  const next = (): void => {
    if (stopped) return;
    const seq = sent++;
    inFlight++;
    const payload = JSON.stringify({ ts: baseMs + seq * 1_000, airTempC: 3 - (seq % 500) / 100, seq });
    client.publish(topic, payload, { qos: 1 }, (err) => {
      inFlight--;
      if (!err) {
        lastAck = performance.now();
        acked.set(seq, lastAck);
      }
      setTimeout(next, gapMs);
    });
  };
  client.once('connect', () => {
    for (let i = 0; i < window; i++) next();
  });
  const poll = async (done: () => boolean, timeoutMs: number, what: string): Promise<void> => {
    const deadline = performance.now() + timeoutMs;
    while (!done()) {
      if (performance.now() > deadline) throw new Error(`${stationId}: ${what} within ${timeoutMs} ms (sent ${sent}, acked ${acked.size})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    stationId,
    acked,
    sent: () => sent,
    lastAckMs: () => lastAck,
    nextAckAfter: async (sinceMs, timeoutMs = 30_000) => {
      await poll(() => lastAck >= sinceMs, timeoutMs, 'no PUBACK');
      return lastAck;
    },
    finish: async (timeoutMs = 30_000) => {
      stopped = true;
      await poll(() => inFlight === 0, timeoutMs, 'publishes still unacknowledged');
    },
    close: async () => {
      stopped = true;
      await client.endAsync(true);
    },
  };
}

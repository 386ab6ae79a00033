import { createHash } from 'node:crypto';
import type { Aedes, Client, PublishPacket, PubrelPacket } from 'aedes';
import type { Logger } from 'pino';
import { systemClock } from '../contracts/index.js';

/** Where a station's original publish goes once its copy was relayed: a `$` topic no wildcard subscription matches [MQTT-4.7.2-1]. */
export const RELAYED_TOPIC = '$frostwatch/relayed';

/** 30 s: well past a server restart (measured 2–6 s from kill to the next PUBACK), short of a station's patience. */
export const DEFAULT_RELAY_TIMEOUT_MS = 30_000;

export interface ConsumerRelayOptions {
  isConsumer: (client: Client | null | undefined) => boolean;
  /** How long a station's PUBACK may wait for the consumer; then the station is disconnected and resends. */
  timeoutMs: number;
  logger: Logger;
  /**
   * Milliseconds of real time, the line `setTimeout` runs on (never a simulated clock: the wait protects a
   * station's patience); default the system clock. Passed in so a test can drive the deadline.
   */
  now?: () => number;
}

/**
 * The gateway run alone keeps queued messages in aedes' in-memory persistence, and aedes writes a QoS 1 PUBACK
 * before it forwards. Acknowledging a station's reading that early lost, at a gateway crash, everything queued for
 * the server (measured: thousands of acknowledged readings over three SIGKILLs — tests/reliability/split-sigkill.test.ts),
 * and readings published before the server had re-subscribed reached nobody. So `deliver` publishes a copy to the
 * server's session and resolves only when the server's consumer has acknowledged it — which it does once the
 * reading is in its spool. The caller then drops the original (RELAYED_TOPIC), so nothing is delivered twice.
 */
export class ConsumerRelay {
  readonly #opts: ConsumerRelayOptions;
  readonly #now: () => number;
  #broker: Aedes | null = null;
  /** Waiting deliveries by topic + payload digest, oldest first (a resent reading may wait twice). */
  readonly #waiting = new Map<string, Array<() => void>>();
  readonly #consumers = new Set<Client>();
  #subscribed = false;
  readonly #readyWaiters = new Set<() => void>();

  constructor(opts: ConsumerRelayOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => systemClock.now());
  }

  /** The broker exists only after its hooks (which use this relay) were made. */
  attach(broker: Aedes): void {
    this.#broker = broker;
    const { isConsumer } = this.#opts;
    broker.on('clientReady', (client) => {
      if (isConsumer(client)) this.#consumers.add(client);
      this.#wakeIfReady();
    });
    broker.on('clientDisconnect', (client) => this.#consumers.delete(client));
    // The consumer's session is persistent (clean: false): its subscription outlives its reconnects, not our restarts.
    broker.on('subscribe', (_subs, client) => {
      if (isConsumer(client)) this.#subscribed = true;
      this.#wakeIfReady();
    });
    // aedes emits 'ack' without a packet when its persistence did not know the message id (or failed to clear it).
    broker.on('ack', (packet: PublishPacket | PubrelPacket | undefined, client: Client) => {
      if (isConsumer(client) && packet?.cmd === 'publish') this.#settle(keyOf(packet.topic, toBuffer(packet.payload)));
    });
  }

  /** Whether a consumer is connected and subscribed. */
  ready(): boolean {
    return this.#consumers.size > 0 && this.#subscribed;
  }

  /** Publish to the consumer (retained if `retain`); null once it acknowledged, an Error if not within the timeout. */
  async deliver(topic: string, payload: Buffer, retain = false): Promise<Error | null> {
    const broker = this.#broker;
    if (broker === null) return new Error('relay used before its broker exists');
    const deadline = this.#now() + this.#opts.timeoutMs;
    if (!(await this.#untilReady(deadline))) return new Error('no server consuming from this gateway; not acknowledging');
    const key = keyOf(topic, payload);
    let onAck: () => void = () => undefined;
    const acked = new Promise<void>((resolve) => (onAck = resolve));
    this.#waiting.set(key, [...(this.#waiting.get(key) ?? []), onAck]);
    broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain, dup: false }, (err) => {
      if (err) this.#opts.logger.error({ err, topic }, 'relaying to the server failed');
    });
    if (await beforeDeadline(acked, deadline, this.#now)) return null;
    this.#forget(key, onAck);
    return new Error(`the server did not acknowledge within ${this.#opts.timeoutMs} ms; not acknowledging`);
  }

  async #untilReady(deadline: number): Promise<boolean> {
    if (this.ready()) return true;
    let wake: () => void = () => undefined;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    this.#readyWaiters.add(wake);
    const ok = await beforeDeadline(woken, deadline, this.#now);
    this.#readyWaiters.delete(wake);
    return ok;
  }

  #wakeIfReady(): void {
    if (!this.ready()) return;
    for (const wake of this.#readyWaiters) wake();
    this.#readyWaiters.clear();
  }

  #settle(key: string): void {
    const queue = this.#waiting.get(key);
    queue?.shift()?.();
    if (queue?.length === 0) this.#waiting.delete(key);
  }

  #forget(key: string, onAck: () => void): void {
    const queue = (this.#waiting.get(key) ?? []).filter((f) => f !== onAck);
    if (queue.length === 0) this.#waiting.delete(key);
    else this.#waiting.set(key, queue);
  }
}

function keyOf(topic: string, payload: Buffer): string {
  return `${topic}\u0000${createHash('sha1').update(payload).digest('base64')}`;
}

function toBuffer(payload: string | Buffer): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
}

/** true if `work` settled before `deadline` (ms on `now`'s line). */
async function beforeDeadline(work: Promise<void>, deadline: number, now: () => number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - now()))));
  try {
    return await Promise.race([work.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

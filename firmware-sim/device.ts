import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Clock, Reading, StationStatus } from '../contracts/index.js';
import { configTopic, parseConfigPayload, readingsTopic, statusTopic } from '../contracts/index.js';
import { ReadingBuffer, type BufferEntry } from './buffer.js';
import { closeLink, openLink } from './device-link.js';
import type { SimDeviceSpec } from './layout.js';
import { drawFor } from './random.js';
import { deviceProfile, isNetworkDown, sampleStation, stationTs, type DeviceProfile, type ScenarioPlan } from './scenario.js';
import { realTimers, type SimTimers } from './timers.js';

/**
 * One simulated ESP32 station: samples on simulated time, keeps every reading in a flash buffer
 * until its PUBACK arrives, and backfills what a dead link kept back, oldest first, in arrays.
 * Exactly one message is in flight at a time, which keeps each station's readings in order.
 */
export interface DeviceTuning {
  /** Sampling interval until a retained config says otherwise. */
  intervalS: number;
  bufferCapacity: number;
  /** Most readings in one backfill message. */
  maxBatch: number;
  /** Mean simulated hours between spontaneous reboots; 0 = never. */
  rebootMeanH: number;
  /** Real milliseconds between reconnect attempts; default: 30 simulated seconds, 50 ms…5 s real. */
  reconnectDelayMs?: number;
}

export const DEFAULT_TUNING: DeviceTuning = { intervalS: 60, bufferCapacity: 1_440, maxBatch: 100, rebootMeanH: 72 };

export interface DeviceOptions {
  brokerUrl: string;
  /** CAs to trust for mqtts:// (see openLink). */
  ca?: string[] | undefined;
  station: SimDeviceSpec;
  plan: ScenarioPlan;
  clock: Clock;
  logger: Logger;
  timers?: SimTimers;
  tuning?: Partial<DeviceTuning>;
  /** True simulated time of the first sample and of the clock setting; default `clock.now()` at start. */
  startMs?: number;
  /** Readings whose PUBACK arrived (the broker holds them now): what a test checks was never lost. */
  onAcked?: (stationId: string, readings: readonly Reading[]) => void;
}

export interface DeviceStats {
  stationId: string;
  connected: boolean;
  intervalS: number;
  sampled: number;
  /** Readings handed to MQTT, resends included. */
  published: number;
  acked: number;
  buffered: number;
  dropped: number;
  invalidSent: number;
  reboots: number;
  connects: number;
  lastAirTempC: number | null;
}

export interface SimDevice {
  readonly stationId: string;
  start(): void;
  /** Power off: stops sampling and closes the link; idempotent. */
  stop(): Promise<void>;
  /** Reboot now: the link dies (the will fires), uptime restarts, the buffer survives. */
  reboot(): void;
  stats(): DeviceStats;
}

const FW_BOOT_SIM_MS = 20_000;
const DEVICE_RECONNECT_SIM_MS = 30_000;

export function createDevice(options: DeviceOptions): SimDevice {
  return new Device(options);
}

class Device implements SimDevice {
  readonly stationId: string;
  readonly #o: DeviceOptions;
  readonly #tuning: DeviceTuning;
  readonly #timers: SimTimers;
  readonly #log: Logger;
  readonly #buffer: ReadingBuffer;
  readonly #profile: DeviceProfile;
  #client: MqttClient | null = null;
  #connected = false;
  #inFlight = false;
  #started = false;
  #stopped = false;
  #tickTimer: unknown = null;
  #reconnectTimer: unknown = null;
  #t0Ms = 0;
  #bootMs = 0;
  #nextSampleMs = 0;
  #lastSampleMs = 0;
  #intervalMs: number;
  #seq = 0;
  #stats = { sampled: 0, published: 0, acked: 0, invalidSent: 0, reboots: 0, connects: 0 };
  #lastAirTempC: number | null = null;

  constructor(options: DeviceOptions) {
    this.#o = options;
    this.stationId = options.station.id;
    this.#tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.#timers = options.timers ?? realTimers;
    this.#log = options.logger.child({ stationId: options.station.id });
    this.#buffer = new ReadingBuffer(this.#tuning.bufferCapacity);
    this.#profile = deviceProfile(options.station.id, options.plan.world.seed);
    this.#intervalMs = this.#tuning.intervalS * 1_000;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#t0Ms = this.#o.startMs ?? this.#o.clock.now();
    this.#bootMs = this.#t0Ms;
    this.#nextSampleMs = this.#t0Ms;
    this.#tick();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#timers.clearTimeout(this.#tickTimer);
    this.#timers.clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    this.#client = null;
    this.#connected = false;
    if (client) await closeLink(client, this.#o.station.id);
  }

  reboot(): void {
    if (this.#stopped || !this.#started) return;
    this.#stats.reboots++;
    this.#log.info({ buffered: this.#buffer.size }, 'reboot');
    this.#bootMs = this.#o.clock.now();
    this.#dropLink();
    this.#scheduleReconnect(this.#realDelay(FW_BOOT_SIM_MS));
  }

  stats(): DeviceStats {
    return {
      stationId: this.stationId,
      connected: this.#connected,
      intervalS: this.#intervalMs / 1_000,
      ...this.#stats,
      buffered: this.#buffer.size,
      dropped: this.#buffer.dropped,
      lastAirTempC: this.#lastAirTempC,
    };
  }

  #tick(): void {
    this.#tickTimer = null;
    if (this.#stopped) return;
    const nowMs = this.#o.clock.now();
    // A late timer (busy event loop, high speed) catches up: no sample is ever skipped.
    while (this.#nextSampleMs <= nowMs) {
      this.#takeSample(this.#nextSampleMs);
      this.#lastSampleMs = this.#nextSampleMs;
      this.#nextSampleMs += this.#intervalMs;
    }
    this.#followNetwork(nowMs);
    this.#pump();
    this.#scheduleTick();
  }

  #scheduleTick(): void {
    if (this.#stopped) return;
    this.#timers.clearTimeout(this.#tickTimer);
    const delayMs = Math.max(0, (this.#nextSampleMs - this.#o.clock.now()) / this.#o.clock.speed);
    this.#tickTimer = this.#timers.setTimeout(() => this.#tick(), delayMs);
  }

  #takeSample(tMs: number): void {
    const stamp = { ts: stationTs(this.#profile, tMs, this.#t0Ms), seq: this.#seq++ };
    const sample = sampleStation(this.#o.station, this.#o.plan, tMs, stamp);
    this.#stats.sampled++;
    if (sample.kind === 'invalid') {
      // Garbled by the firmware: sent once as is, never buffered (the station cannot know).
      if (this.#connected && this.#client) {
        this.#client.publish(readingsTopic(this.#o.station.id), sample.payload, { qos: 1 });
        this.#stats.invalidSent++;
      }
      return;
    }
    this.#lastAirTempC = sample.reading.airTempC;
    this.#buffer.push(sample.reading);
    this.#maybeReboot(tMs);
  }

  #maybeReboot(tMs: number): void {
    const { rebootMeanH } = this.#tuning;
    if (!(rebootMeanH > 0)) return;
    const probability = this.#intervalMs / (rebootMeanH * 3_600_000);
    if (drawFor(this.#o.plan.world.seed, 'reboot', this.stationId, tMs).chance(probability)) this.reboot();
  }

  /** Scenario outages cut the link; when they end, the station dials in again. */
  #followNetwork(nowMs: number): void {
    const down = isNetworkDown(this.stationId, this.#o.plan, nowMs, this.#o.station);
    if (down && this.#client) {
      this.#log.info({ buffered: this.#buffer.size }, 'network lost (scenario outage)');
      this.#dropLink();
    } else if (!down && !this.#client && this.#reconnectTimer === null) {
      this.#connect();
    }
  }

  #connect(): void {
    if (this.#stopped || this.#client) return;
    if (isNetworkDown(this.stationId, this.#o.plan, this.#o.clock.now(), this.#o.station)) return;
    const client = openLink(this.#o.brokerUrl, this.#o.station, this.#o.ca);
    this.#client = client;
    client.on('connect', () => this.#onConnect(client));
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    client.on('close', () => this.#onLinkLost(client));
    client.on('error', (err) => this.#log.debug({ err: err.message }, 'mqtt error'));
  }

  #onConnect(client: MqttClient): void {
    if (client !== this.#client) return;
    this.#connected = true;
    this.#stats.connects++;
    const { id } = this.#o.station;
    const uptimeS = Math.max(0, Math.round((this.#o.clock.now() - this.#bootMs) / 1_000));
    const status: StationStatus = { online: true, fw: this.#profile.fw, uptimeS };
    client.publish(statusTopic(id), JSON.stringify(status), { qos: 1, retain: true });
    client.subscribe(configTopic(id), { qos: 1 });
    this.#log.debug({ buffered: this.#buffer.size }, 'connected');
    this.#pump();
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic !== configTopic(this.#o.station.id)) return;
    const config = parseConfigPayload(payload);
    if (!config) {
      this.#log.warn({ payload: payload.toString('utf8').slice(0, 200) }, 'ignored invalid config');
      return;
    }
    const intervalMs = config.intervalS * 1_000;
    if (intervalMs === this.#intervalMs) return;
    this.#log.info({ intervalS: config.intervalS }, 'new sampling interval');
    this.#intervalMs = intervalMs;
    if (!this.#started) return;
    this.#nextSampleMs = Math.min(this.#nextSampleMs, this.#lastSampleMs + intervalMs);
    this.#scheduleTick();
  }

  #onLinkLost(client: MqttClient): void {
    if (client !== this.#client) return;
    this.#dropLink();
    this.#scheduleReconnect(this.#tuning.reconnectDelayMs ?? this.#realDelay(DEVICE_RECONNECT_SIM_MS));
  }

  /** Kill the link as a network loss would: no DISCONNECT, so the broker publishes the will. */
  #dropLink(): void {
    const client = this.#client;
    this.#client = null;
    this.#connected = false;
    this.#inFlight = false;
    this.#buffer.releaseAll();
    if (client) client.end(true);
  }

  #scheduleReconnect(delayMs: number): void {
    if (this.#stopped) return;
    this.#timers.clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = this.#timers.setTimeout(() => {
      this.#reconnectTimer = null;
      this.#connect();
    }, delayMs);
  }

  #realDelay(simMs: number): number {
    return Math.min(5_000, Math.max(50, simMs / this.#o.clock.speed));
  }

  /** Send the oldest unsent readings: one as an object when live, an array when there is a backlog. */
  #pump(): void {
    const client = this.#client;
    if (!client || !this.#connected || this.#inFlight) return;
    const batch = this.#buffer.take(this.#tuning.maxBatch);
    const first = batch[0];
    if (!first) return;
    this.#inFlight = true;
    const payload = batch.length === 1 ? JSON.stringify(first.reading) : JSON.stringify(batch.map((e) => e.reading));
    this.#stats.published += batch.length;
    client.publish(readingsTopic(this.#o.station.id), payload, { qos: 1 }, (err) => this.#onPublished(client, batch, err));
  }

  #onPublished(client: MqttClient, batch: readonly BufferEntry[], err: Error | undefined): void {
    // A callback from a link already given up on: those readings were released and will be resent.
    if (client !== this.#client) return;
    this.#inFlight = false;
    if (err) {
      this.#log.debug({ err: err.message }, 'publish failed');
      this.#buffer.releaseAll();
      return;
    }
    this.#stats.acked += this.#buffer.ack(batch);
    this.#o.onAcked?.(
      this.stationId,
      batch.map((entry) => entry.reading),
    );
    this.#pump();
  }
}

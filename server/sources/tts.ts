/**
 * The Things Stack v3 as a second intake of the server (docs/devices.md, "The Things Stack v3"): an MQTT client of
 * TTS's MQTT server, subscribed to `v3/{app}@{tenant}/devices/+/up`, each uplink through the TTS decoder
 * (gateway/sources/tts.ts) and the intake's `acceptDecoded`, as every other message of a station.
 *
 * TTS delivers with QoS 0 and keeps no session for us, so what it published while we were away is gone from MQTT.
 * After every reconnect (and at start when the last uplink's time is known from an earlier run), the client asks the
 * Storage Integration for the uplinks received since the last one it had and feeds them through the same decoder;
 * uplinks seen before are ignored by their correlation ids, so overlaps cost nothing. What cannot be filled (storage
 * off, unreachable, its answer cut short) is kept as an unfilled gap: logged once, counted, and listed by `gaps()`.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import {
  type Clock,
  type DeviceDirectory,
  type IngestSink,
  type PayloadLimits,
  type RejectRecorder,
  ConfigError,
  DEFAULT_PAYLOAD_LIMITS,
} from '../../contracts/index.js';
import { acceptDecoded, asError } from '../../gateway/intake.js';
import { SourceMemory } from '../../gateway/sources/memory.js';
import { decodeTtsUplink, summarizeTtsUplink } from '../../gateway/sources/tts.js';
import { redactUrl } from '../ingest/mqtt-consumer.js';
import { StorageError, fetchStoredUplinks } from './tts-storage.js';

/** A stretch of time whose uplinks may be missing: TTS published them while we were away and storage did not give them. */
export interface UnfilledGap {
  fromMs: number;
  toMs: number;
  reason: string;
}

export interface TtsSourceOptions {
  /** TTS's MQTT server, e.g. mqtts://eu1.cloud.thethings.network:8883. No credentials in it. */
  url: string;
  appId: string;
  /** `ttn` on The Things Network; the tenant id on TTS Cloud. */
  tenant: string;
  /** An API key of the application: MQTT password and storage bearer token. Never logged. */
  apiKey: string;
  /** Where the Storage Integration API answers, e.g. https://eu1.cloud.thethings.network. */
  apiUrl: string;
  sink: IngestSink;
  rejects: RejectRecorder;
  devices: DeviceDirectory;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
  /** CAs to trust for mqtts:// and https:// besides Node's; undefined → Node's defaults. */
  ca?: string[] | undefined;
  limits?: PayloadLimits | undefined;
  /** The dedupe memory (correlation ids seen); default one of its own. */
  memory?: SourceMemory | undefined;
  /** A small JSON file keeping the last uplink's time and the devices' ids across restarts; absent → memory only. */
  statePath?: string | undefined;
  /** mqtt.js reconnect period; default 2 s. */
  reconnectPeriodMs?: number | undefined;
  /** Results asked of storage per request; default 1,000 (the API's own bound). */
  pageSize?: number | undefined;
}

export interface TtsSource {
  /** The MQTT client, once start() made it; null before. */
  readonly client: MqttClient | null;
  /** Connects (and subscribes, and fills the gap since a saved last uplink). */
  start(): Promise<void>;
  /** Connected to TTS, and how many gaps are unfilled. */
  check(): { ok: boolean; detail?: string };
  /** The unfilled gaps, oldest first (the last 100). */
  gaps(): readonly UnfilledGap[];
  /** The Application Server's reception time of the newest uplink taken (epoch ms); null before any. */
  lastUplinkMs(): number | null;
  /** Queues a downlink for a device by DevEUI; false when its device id is unknown (no uplink seen) or TTS is not connected. */
  pushDownlink(devEui: string, fPort: number, bytes: Uint8Array): Promise<boolean>;
  /** Resolves once the messages received so far and any running gap fill are done (tests). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const MAX_GAPS = 100;
/** Pages asked of storage in one fill at most; past that the rest is recorded as a gap. */
const MAX_PAGES = 50;
const STATE_FLUSH_MS = 10_000;

interface SavedState {
  lastUplinkMs: number | null;
  devices: Record<string, string>;
}

/** The uplink topic filter of an application: `v3/{app}@{tenant}/devices/+/up`. */
export const ttsUplinkFilter = (appId: string, tenant: string): string => `v3/${appId}@${tenant}/devices/+/up`;
export const ttsDownlinkTopic = (appId: string, tenant: string, deviceId: string): string =>
  `v3/${appId}@${tenant}/devices/${deviceId}/down/push`;

/** Built with the server, connected by start() (its listen step). */
export function createTtsSource(options: TtsSourceOptions): TtsSource {
  const { logger, clock, appId, tenant } = options;
  const limits = options.limits ?? DEFAULT_PAYLOAD_LIMITS;
  const memory = options.memory ?? new SourceMemory();
  const pageSize = options.pageSize ?? 1_000;
  const unfilledTotal = existingOr(
    options.metrics,
    'frostwatch_tts_unfilled_gaps_total',
    () =>
      new Counter({
        name: 'frostwatch_tts_unfilled_gaps_total',
        help: 'Outages of the The Things Stack feed whose uplinks the Storage Integration could not give back',
        registers: [options.metrics],
      }),
  );
  const saved = readState(options.statePath, logger);
  let lastUplinkMs: number | null = saved.lastUplinkMs;
  const deviceIds = new Map<string, string>(Object.entries(saved.devices));
  const gaps: UnfilledGap[] = [];
  let stateDirty = false;
  let everConnected = false;
  let lostAtMs: number | null = null;
  let closed = false;
  // One message at a time, live and stored alike, in the order they came.
  let queue: Promise<unknown> = Promise.resolve();
  let fills: Promise<void> = Promise.resolve();
  const abort = new AbortController();

  const take = (payload: Buffer, via: 'live' | 'storage'): Promise<void> => {
    const next = queue.then(() => handle(payload, via));
    queue = next.catch(() => undefined);
    return next;
  };

  async function handle(payload: Buffer, via: 'live' | 'storage'): Promise<void> {
    let json: unknown = null;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      // The decoder refuses it as bad_json below.
    }
    const decoded = decodeTtsUplink({
      topic: '',
      payload,
      publisher: { kind: 'broker', isKnownStation: () => false },
      nowMs: clock.now(),
      limits,
      devices: options.devices,
      memory,
    });
    note(json);
    const error = await acceptDecoded(decoded, { sink: options.sink, rejects: options.rejects, memory });
    if (error !== null) {
      // QoS 0: nobody sends it again (its correlation ids are forgotten: only a later storage answer could); say which reading is missing.
      const at = decoded.kind === 'readings' ? (decoded.readings[0]?.ts ?? clock.now()) : clock.now();
      recordGap({ fromMs: at, toMs: at, reason: `storing a ${via} uplink failed: ${error.message}` });
    }
  }

  /** The device id (for downlinks) and the newest reception time, from any uplink of the application. */
  function note(json: unknown): void {
    const { devEui, deviceId, receivedAtMs } = summarizeTtsUplink(json);
    if (devEui !== null && deviceId !== null && deviceIds.get(devEui) !== deviceId) {
      deviceIds.set(devEui, deviceId);
      stateDirty = true;
    }
    if (receivedAtMs !== null && (lastUplinkMs === null || receivedAtMs > lastUplinkMs)) {
      lastUplinkMs = receivedAtMs;
      stateDirty = true;
    }
  }

  function recordGap(gap: UnfilledGap): void {
    gaps.push(gap);
    if (gaps.length > MAX_GAPS) gaps.shift();
    unfilledTotal.inc();
    logger.warn(
      { from: new Date(gap.fromMs).toISOString(), to: new Date(gap.toMs).toISOString(), reason: gap.reason },
      'The Things Stack: uplinks of this stretch may be missing (not in the Storage Integration)',
    );
  }

  /** Stored uplinks received after `fromMs`, page by page, each through the same decoder; what is left is a gap. */
  async function fill(fromMs: number, toMs: number): Promise<void> {
    let afterMs = fromMs;
    let taken = 0;
    try {
      for (let page = 0; ; page++) {
        if (closed) return;
        if (page === MAX_PAGES) {
          recordGap({ fromMs: afterMs, toMs, reason: `more than ${MAX_PAGES * pageSize} stored uplinks; the rest was not read` });
          return;
        }
        const { results, cutShort } = await fetchStoredUplinks({
          apiUrl: options.apiUrl,
          appId,
          apiKey: options.apiKey,
          afterMs,
          limit: pageSize,
          signal: abort.signal,
        });
        for (const result of results) {
          await take(Buffer.from(JSON.stringify(result), 'utf8'), 'storage');
          const at = summarizeTtsUplink(result).receivedAtMs;
          if (at !== null && at > afterMs) afterMs = at;
        }
        taken += results.length;
        if (cutShort !== null) {
          recordGap({ fromMs: afterMs, toMs, reason: cutShort });
          return;
        }
        if (results.length < pageSize) break;
      }
      logger.info({ from: new Date(fromMs).toISOString(), uplinks: taken }, 'The Things Stack: gap filled from the Storage Integration');
    } catch (err) {
      if (closed) return;
      const reason = err instanceof StorageError ? err.message : `gap fill failed: ${asError(err).message}`;
      recordGap({ fromMs: afterMs, toMs, reason });
    }
  }

  let client: MqttClient | null = null;
  const connect = (): MqttClient => {
    const mqttClient = mqtt.connect(options.url, {
      username: `${appId}@${tenant}`,
      password: options.apiKey,
      clientId: `frostwatch-${appId}-${Math.random().toString(16).slice(2, 10)}`,
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: options.reconnectPeriodMs ?? 2_000,
      connectTimeout: 10_000,
      // Subscribed again on every connect below: a clean session keeps nothing.
      resubscribe: false,
      ...(options.ca ? { ca: options.ca } : {}),
    });
    mqttClient.on('connect', () => {
      const first = !everConnected;
      everConnected = true;
      const reconnectedAt = clock.now();
      // From the last uplink we had; if none came yet, from when the connection was lost (or, at start, a saved time).
      const since = first ? lastUplinkMs : (lastUplinkMs ?? lostAtMs);
      lostAtMs = null;
      logger.info({ url: redactUrl(options.url), app: appId, tenant }, 'connected to The Things Stack');
      mqttClient.subscribe(ttsUplinkFilter(appId, tenant), { qos: 0 }, (err) => {
        if (err) {
          logger.error({ err: err.message }, 'The Things Stack: subscribe failed');
          return;
        }
        // After the subscription, so nothing falls between the stored answer and the live feed.
        if (since !== null) fills = fills.then(() => fill(since, reconnectedAt));
      });
    });
    mqttClient.on('close', () => {
      if (everConnected && lostAtMs === null) lostAtMs = clock.now();
    });
    mqttClient.on('offline', () => logger.warn('lost The Things Stack; reconnecting'));
    mqttClient.on('error', (err) => logger.warn({ err: err.message }, 'The Things Stack connection error'));
    mqttClient.on('message', (_topic, payload) => {
      void take(payload, 'live').catch((err: unknown) => logger.error({ err: asError(err).message }, 'The Things Stack uplink failed'));
    });
    return mqttClient;
  };

  const flush = async (): Promise<void> => {
    if (!stateDirty || options.statePath === undefined) return;
    stateDirty = false;
    const state: SavedState = { lastUplinkMs, devices: Object.fromEntries(deviceIds) };
    const tmp = `${options.statePath}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(state));
      await rename(tmp, options.statePath);
    } catch (err) {
      stateDirty = true;
      logger.warn({ err: asError(err).message }, 'could not save the The Things Stack state');
    }
  };
  let flushTimer: NodeJS.Timeout | null = null;

  let closing: Promise<void> | null = null;
  return {
    get client() {
      return client;
    },
    start: () => {
      if (client === null && !closed) {
        client = connect();
        flushTimer = setInterval(() => void flush(), STATE_FLUSH_MS);
        flushTimer.unref();
      }
      return Promise.resolve();
    },
    check: () => {
      const unfilled = gaps.length === 0 ? '' : `; ${gaps.length} unfilled gap(s), the last ${describe(gaps[gaps.length - 1])}`;
      return client?.connected === true
        ? { ok: true, detail: `connected to The Things Stack${unfilled}` }
        : { ok: false, detail: `not connected to The Things Stack${unfilled}` };
    },
    gaps: () => [...gaps],
    lastUplinkMs: () => lastUplinkMs,
    pushDownlink: async (devEui, fPort, bytes) => {
      if (!Number.isInteger(fPort) || fPort < 1 || fPort > 223) throw new RangeError(`fPort: 1 to 223 (got ${fPort})`);
      const deviceId = deviceIds.get(devEui.toLowerCase());
      if (deviceId === undefined || client?.connected !== true) return false;
      const body = { downlinks: [{ f_port: fPort, frm_payload: Buffer.from(bytes).toString('base64'), priority: 'NORMAL' }] };
      await client.publishAsync(ttsDownlinkTopic(appId, tenant, deviceId), JSON.stringify(body), { qos: 0 });
      return true;
    },
    settled: async () => {
      await fills;
      await queue;
    },
    close: () =>
      (closing ??= (async () => {
        closed = true;
        abort.abort();
        if (flushTimer !== null) clearInterval(flushTimer);
        await client?.endAsync(false);
        await fills;
        await queue;
        await flush();
      })()),
  };
}

/** TTS_* of the environment → the client's settings; null when TTS_MQTT_URL is unset (no TTS client). */
export function ttsSettingsFrom(env: {
  TTS_MQTT_URL?: string | undefined;
  TTS_APP_ID?: string | undefined;
  TTS_TENANT?: string | undefined;
  TTS_API_KEY?: string | undefined;
  TTS_API_URL?: string | undefined;
}): Pick<TtsSourceOptions, 'url' | 'appId' | 'tenant' | 'apiKey' | 'apiUrl'> | null {
  if (env.TTS_MQTT_URL === undefined) return null;
  if (env.TTS_APP_ID === undefined)
    throw new ConfigError('TTS_APP_ID: required with TTS_MQTT_URL (the application id in The Things Stack)');
  if (env.TTS_API_KEY === undefined) throw new ConfigError('TTS_API_KEY: required with TTS_MQTT_URL (an API key of the application)');
  const mqttUrl = new URL(env.TTS_MQTT_URL);
  return {
    url: env.TTS_MQTT_URL,
    appId: env.TTS_APP_ID,
    tenant: env.TTS_TENANT ?? 'ttn',
    apiKey: env.TTS_API_KEY,
    apiUrl: env.TTS_API_URL ?? `https://${mqttUrl.hostname}`,
  };
}

function readState(path: string | undefined, logger: Logger): SavedState {
  const empty: SavedState = { lastUplinkMs: null, devices: {} };
  if (path === undefined) return empty;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { lastUplinkMs?: unknown; devices?: unknown };
    const devices =
      typeof parsed.devices === 'object' && parsed.devices !== null ? Object.entries(parsed.devices as Record<string, unknown>) : [];
    return {
      lastUplinkMs: typeof parsed.lastUplinkMs === 'number' && Number.isFinite(parsed.lastUplinkMs) ? parsed.lastUplinkMs : null,
      devices: Object.fromEntries(devices.filter((e): e is [string, string] => typeof e[1] === 'string')),
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      logger.warn({ err: asError(err).message }, 'The Things Stack state unreadable; starting without it');
    return empty;
  }
}

function describe(gap: UnfilledGap | undefined): string {
  return gap === undefined ? '' : `${new Date(gap.fromMs).toISOString()} to ${new Date(gap.toMs).toISOString()} (${gap.reason})`;
}

/** The metric of that name already on the registry (another part registered it), else a new one. */
export function existingOr<T>(metrics: Registry, name: string, create: () => T): T {
  return (metrics.getSingleMetric(name) as T | undefined) ?? create();
}

/**
 * ChirpStack v4's MQTT integration publishing its devices' events into frostwatch's broker, logged in with an
 * integration account (`chirpstack:<name>`; docs/devices.md, "ChirpStack v4"). An `up` event of a registered DevEUI
 * becomes one reading of that station: the decoded `object` (ChirpStack's codec) or, without one, the bytes run
 * through the preset's bundled vendor codec in the sandbox; then the preset's field names and the station's own
 * field map; judged by `checkReadings` exactly as a native reading is.
 */
import {
  type ChirpstackUplink,
  type StationDeviceInfo,
  ChirpstackUplinkSchema,
  parseChirpstackTopic,
  parseRfc3339Ms,
} from '../../contracts/index.js';
import { type Decoded, type IntakeMessage, refused } from '../intake.js';
import type { SourceMemory } from './memory.js';
import { checkReadings, ignored } from './readings.js';
import { bundledCodec, codecSandbox } from './lorawan/codec-sandbox.js';
import { lorawanFields } from './lorawan/presets.js';

export const decodeChirpstack = (message: IntakeMessage): Decoded => {
  const topic = parseChirpstackTopic(message.topic);
  // An integration account publishes its network server's events, nothing else.
  if (topic === null) return refused(null, 'forbidden_topic');
  if (topic.event !== 'up') return ignored(null, `chirpstack ${topic.event} event`);
  const devEui = topic.devEui.toLowerCase();
  const device = message.devices?.stationOf('chirpstack', devEui) ?? null;
  if (device === null) return refused(null, 'unknown_station');
  const { stationId } = device;
  if (message.payload.byteLength > message.limits.maxBytes) return refused(stationId, 'too_large');
  const uplink = parseUplink(message.payload);
  if (typeof uplink === 'string') return refused(stationId, uplink);
  // The payload speaks for the device its topic names, or for nobody.
  if (uplink.deviceInfo.devEui.toLowerCase() !== devEui) return refused(stationId, 'forbidden_topic');
  const dedupeKey = uplink.deduplicationId === undefined ? undefined : `chirpstack:${uplink.deduplicationId}`;
  if (dedupeKey !== undefined && message.memory?.seen(dedupeKey)) return ignored(stationId, 'chirpstack uplink already received');
  if (message.memory) rememberApplication(message.memory, devEui, topic.applicationId);

  let ts = message.nowMs;
  if (uplink.time !== undefined) {
    const parsed = parseRfc3339Ms(uplink.time);
    if (parsed === null) return refused(stationId, 'bad_timestamp');
    ts = parsed;
  }
  const decoded = decodedPayload(uplink, device);
  if (decoded.kind !== 'ok')
    return decoded.kind === 'empty'
      ? ignored(stationId, 'chirpstack uplink without application payload')
      : refused(stationId, decoded.reason);
  const fields = lorawanFields(decoded.value, device.preset, device.fieldMap);
  const rssi = bestRssi(uplink);
  const candidate: Record<string, unknown> = {
    ts,
    ...fields,
    ...(rssi === null ? {} : { rssiDbm: rssi }),
    ...(uplink.fCnt === undefined ? {} : { seq: uplink.fCnt }),
  };
  const checked = checkReadings(stationId, [candidate], message);
  if (checked.kind !== 'readings' && dedupeKey !== undefined) message.memory?.forget(dedupeKey); // refused: nothing was stored
  return checked.kind === 'readings' && dedupeKey !== undefined ? { ...checked, dedupeKey } : checked;
};

type Payload = { kind: 'ok'; value: unknown } | { kind: 'empty' } | { kind: 'refused'; reason: 'no_decoded_payload' | 'codec_failed' };

/** ChirpStack's own decoding (`object`), else the preset's bundled codec on `data`. */
function decodedPayload(uplink: ChirpstackUplink, device: StationDeviceInfo): Payload {
  if (uplink.object !== undefined && uplink.object !== null) return { kind: 'ok', value: uplink.object };
  const bytes = Buffer.from(uplink.data ?? '', 'base64');
  // fPort 0 or no FRMPayload: MAC commands only, no measurement (and never 0 °C).
  if (bytes.length === 0 || (uplink.fPort ?? 0) === 0) return { kind: 'empty' };
  const codec = bundledCodec(device.preset);
  if (codec === null) return { kind: 'refused', reason: 'no_decoded_payload' };
  const result = codecSandbox.decode(codec, bytes, uplink.fPort ?? 0);
  if (!result.ok)
    return {
      kind: 'refused',
      reason: result.failure === 'no_decoder' || result.failure === 'bad_output' ? 'no_decoded_payload' : 'codec_failed',
    };
  const out = result.decoded;
  // `decodeUplink` answers `{errors}` without data for what it cannot read; several codecs answer nothing.
  if (out === null || typeof out !== 'object') return { kind: 'refused', reason: 'no_decoded_payload' };
  if (!('data' in out) && 'errors' in out) return { kind: 'refused', reason: 'no_decoded_payload' };
  return { kind: 'ok', value: out };
}

function parseUplink(payload: Uint8Array): ChirpstackUplink | 'bad_json' | 'not_object' | 'missing_field' | 'wrong_type' {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return 'bad_json';
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'not_object';
  const parsed = ChirpstackUplinkSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  return parsed.error.issues.some((issue) => issue.code === 'invalid_type' && issue.message.includes('undefined'))
    ? 'missing_field'
    : 'wrong_type';
}

/** The strongest signal among the gateways that heard the uplink. */
function bestRssi(uplink: ChirpstackUplink): number | null {
  const values = (uplink.rxInfo ?? [])
    .map((rx) => rx.rssi)
    .filter((rssi): rssi is number => typeof rssi === 'number' && Number.isFinite(rssi));
  return values.length === 0 ? null : Math.max(...values);
}

/**
 * Which ChirpStack application each DevEUI was last heard in: a downlink must name it in its topic, and ChirpStack
 * refuses one whose application is not the device's. Kept beside the gateway's source memory (in this process only:
 * after a restart a device's first uplink teaches it again, and a downlink waits for it; server/warnings/config-publisher.ts).
 */
export class ChirpstackApplications {
  readonly #byDevEui = new Map<string, string>();
  readonly #listeners = new Set<(devEui: string, applicationId: string) => void>();

  learn(devEui: string, applicationId: string): void {
    if (this.#byDevEui.get(devEui) === applicationId) return;
    this.#byDevEui.set(devEui, applicationId);
    for (const listener of this.#listeners) listener(devEui, applicationId);
  }

  applicationOf(devEui: string): string | null {
    return this.#byDevEui.get(devEui) ?? null;
  }

  /** Told when a device's application is first learnt or changes. Returns the unsubscribe function. */
  onLearn(listener: (devEui: string, applicationId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

const APPLICATIONS = new WeakMap<SourceMemory, ChirpstackApplications>();

/** The applications learnt by the decoders sharing `memory` (one gateway's). */
export function chirpstackApplications(memory: SourceMemory): ChirpstackApplications {
  let applications = APPLICATIONS.get(memory);
  if (applications === undefined) {
    applications = new ChirpstackApplications();
    APPLICATIONS.set(memory, applications);
  }
  return applications;
}

function rememberApplication(memory: SourceMemory, devEui: string, applicationId: string): void {
  chirpstackApplications(memory).learn(devEui, applicationId);
}

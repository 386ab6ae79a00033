/**
 * The Things Stack v3 (TTN, TTS Cloud, TTS Open Source): one uplink of its MQTT integration
 * (`v3/{app}@{tenant}/devices/{device_id}/up`) or one `result` of its Storage Integration API, both the same
 * `ApplicationUp` JSON (docs/devices.md, "The Things Stack v3"). The server's TTS client (server/sources/tts.ts)
 * subscribes to TTS and hands each message here, then to the intake's `acceptDecoded`.
 *
 * TTS drops every field whose value is zero, false or empty (`f_port`, `f_cnt`, `decoded_payload` when the codec
 * failed), gives three timestamps (gateway `rx_metadata[].time`, Network Server `uplink_message.received_at`,
 * Application Server `received_at`), and Console-simulated uplinks carry the Go zero time `0001-01-01T00:00:00Z`.
 */
import { type StationDeviceInfo, parseRfc3339Ms } from '../../contracts/index.js';
import { type Decoded, type IntakeMessage, refused } from '../intake.js';
import { type DeviceFields, lorawanFields } from './lorawan/presets.js';
import { checkReadings, ignored, isRecord, numberOf, pathValue } from './readings.js';

/** The parts of an `ApplicationUp` this decoder reads; everything is optional on the wire. */
export interface TtsUplinkSummary {
  /** `end_device_ids.dev_eui`, lower-cased; null when absent (a field-masked storage answer). */
  devEui: string | null;
  /** `end_device_ids.device_id`: what a downlink's topic names. */
  deviceId: string | null;
  /** The Application Server's `received_at` (epoch ms): what the Storage Integration's `after` compares with. */
  receivedAtMs: number | null;
}

/** The Go zero time TTS writes for "unset" (simulated uplinks): any year before 2000 is not a real reception. */
const EARLIEST_REAL_MS = Date.UTC(2000, 0, 1);

/** Normalized payload (TTS's common schema) → frostwatch fields; read only where the decoded payload gave nothing. */
const NORMALIZED: ReadonlyArray<[keyof DeviceFields, string[]]> = [
  ['airTempC', ['air', 'temperature']],
  ['rhPct', ['air', 'relativeHumidity']],
  ['windMs', ['wind', 'speed']],
  ['batteryV', ['battery']],
];

/**
 * One TTS message → the readings of the station registered with `source: 'ttn'` and its DevEUI. Not an uplink
 * (a join, a downlink event, a push echoed back) or a simulated one: ignored. An uplink seen before (its correlation
 * ids, in `message.memory`): ignored, so a storage answer overlapping the live feed stores nothing twice.
 */
export function decodeTtsUplink(message: IntakeMessage): Decoded {
  if (message.payload.byteLength > message.limits.maxBytes) return refused(null, 'too_large');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(message.payload).toString('utf8'));
  } catch {
    return refused(null, 'bad_json');
  }
  if (!isRecord(json)) return refused(null, 'not_object');
  const uplink = json['uplink_message'];
  if (!isRecord(uplink)) return ignored(null, 'not an uplink');
  if (json['simulated'] === true) return ignored(null, 'simulated uplink');

  const { devEui } = summarizeTtsUplink(json);
  const device = devEui === null ? null : (message.devices?.stationOf('ttn', devEui) ?? null);
  if (device === null) return refused(null, 'unknown_station');
  const { stationId } = device;

  const ts = uplinkTime(json, uplink);
  if (ts === null) return refused(stationId, 'bad_timestamp');
  // No codec output at all (no formatter, or it failed: TTS then drops decoded_payload), as ChirpStack's without `object`.
  if (!isRecord(uplink['decoded_payload']) && !Array.isArray(uplink['normalized_payload'])) return refused(stationId, 'no_decoded_payload');
  const key = dedupeKey(json, uplink, devEui ?? '', ts);
  if (message.memory?.seen(key) === true) return ignored(stationId, 'duplicate uplink');
  const candidate: Record<string, unknown> = { ...fieldsOf(uplink, device), ts };
  const rssi = bestRssi(uplink);
  if (rssi !== null) candidate['rssiDbm'] = rssi;
  const fCnt = numberOf(uplink['f_cnt']);
  if (fCnt !== null && Number.isInteger(fCnt) && fCnt >= 0) candidate['seq'] = fCnt;
  const checked = checkReadings(stationId, [candidate], message);
  // As ChirpStack's: a refused uplink is not remembered, a stored one is forgotten by acceptDecoded if storing fails.
  if (checked.kind !== 'readings') message.memory?.forget(key);
  return checked.kind === 'readings' ? { ...checked, dedupeKey: key } : checked;
}

/** Who sent an uplink and when the Application Server had it, for the client's bookkeeping (downlinks, gap fill). */
export function summarizeTtsUplink(json: unknown): TtsUplinkSummary {
  const ids = isRecord(json) && isRecord(json['end_device_ids']) ? json['end_device_ids'] : {};
  const devEui = typeof ids['dev_eui'] === 'string' && ids['dev_eui'] !== '' ? ids['dev_eui'].toLowerCase() : null;
  const deviceId = typeof ids['device_id'] === 'string' && ids['device_id'] !== '' ? ids['device_id'] : null;
  const receivedAtMs = isRecord(json) ? realTime(json['received_at']) : null;
  return { devEui, deviceId, receivedAtMs };
}

function fieldsOf(uplink: Record<string, unknown>, device: StationDeviceInfo): DeviceFields {
  const fields = lorawanFields(uplink['decoded_payload'], device.preset, device.fieldMap);
  const normalized = uplink['normalized_payload'];
  const first: unknown = Array.isArray(normalized) ? normalized[0] : undefined;
  if (isRecord(first)) {
    for (const [field, path] of NORMALIZED) {
      if (fields[field] !== undefined) continue;
      const value = numberOf(pathValue(first, path));
      // A battery in percent or millivolts would cost the whole reading its bounds check: read volts only.
      if (value !== null && (field !== 'batteryV' || (value >= 0 && value <= 30))) fields[field] = value;
    }
  }
  return fields;
}

/**
 * When the reading was taken: the earliest gateway reception time (`rx_metadata[].time`, GPS or the gateway's own
 * clock), else the Network Server's, else the Application Server's; zero times skipped. null: none usable.
 */
function uplinkTime(json: Record<string, unknown>, uplink: Record<string, unknown>): number | null {
  const metadata = Array.isArray(uplink['rx_metadata']) ? (uplink['rx_metadata'] as unknown[]) : [];
  let earliest: number | null = null;
  for (const rx of metadata) {
    const at = isRecord(rx) ? realTime(rx['time']) : null;
    if (at !== null && (earliest === null || at < earliest)) earliest = at;
  }
  return earliest ?? realTime(uplink['received_at']) ?? realTime(json['received_at']);
}

/** The strongest gateway's RSSI (`rssi`, else `channel_rssi`); null when no gateway reported one. */
function bestRssi(uplink: Record<string, unknown>): number | null {
  const metadata = Array.isArray(uplink['rx_metadata']) ? (uplink['rx_metadata'] as unknown[]) : [];
  let best: number | null = null;
  for (const rx of metadata) {
    if (!isRecord(rx)) continue;
    const rssi = numberOf(rx['rssi']) ?? numberOf(rx['channel_rssi']);
    if (rssi !== null && (best === null || rssi > best)) best = rssi;
  }
  return best;
}

/**
 * An uplink's identity: its correlation ids, sorted (their order is not guaranteed), or — for a stored message
 * without them — the device, frame counter and reception time.
 */
function dedupeKey(json: Record<string, unknown>, uplink: Record<string, unknown>, devEui: string, ts: number): string {
  const ids = Array.isArray(json['correlation_ids']) ? json['correlation_ids'].filter((id): id is string => typeof id === 'string') : [];
  if (ids.length > 0) return `tts:${[...ids].sort().join(',')}`;
  const received = realTime(uplink['received_at']) ?? ts;
  return `tts:${devEui}:${String(numberOf(uplink['f_cnt']) ?? 0)}:${String(received)}`;
}

function realTime(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = parseRfc3339Ms(value);
  return ms !== null && ms >= EARLIEST_REAL_MS ? ms : null;
}

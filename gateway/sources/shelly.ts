/**
 * Shelly Plus H&T and H&T Gen3 (docs/devices.md, "Shelly Plus H&T / Gen3"): a board logging in as its station, its MQTT
 * topic prefix set to the station's deviceId.
 * - `<prefix>/events/rpc`: `NotifyFullStatus` (each wake-up) and `NotifyStatus` (what changed), `params.ts` in Unix
 *   seconds (UTC) and one object per component: `temperature:0.tC` → airTempC, `humidity:0.rh` → rhPct,
 *   `devicepower:0.battery.V` → batteryV (not while `external.present`: on USB power it reads ~0 V). A status without
 *   a temperature keeps its humidity and battery for the next one (15 minutes) and is ignored; other methods too.
 * - `<prefix>/status/<component:id>` ("Generic status update over MQTT", off by default): one component, no time in
 *   it: read as a NotifyStatus stamped with the receive time.
 * - `<prefix>/online` `true`/`false` (its last will) → the station's online flag.
 */
import type { FieldMap, StationId } from '../../contracts/index.js';
import { type Decoded, type IntakeMessage, refused } from '../intake.js';
import type { DeviceDecoder } from './index.js';
import { numberOf, ignored, isRecord } from './readings.js';
import { type Fields, jsonObjectOf, pairedReading, status, textOf } from './wifi.js';

/** The components an H&T reports, and the field each feeds unless the station's field map names that field. */
const DEFAULT_MAP: FieldMap = { 'temperature:0': 'airTempC', 'humidity:0': 'rhPct', 'devicepower:0': 'batteryV' };

const NOTIFICATIONS: ReadonlySet<unknown> = new Set(['NotifyStatus', 'NotifyFullStatus']);

export const decodeShelly: DeviceDecoder = (message, device) => {
  const { stationId, deviceId } = device;
  const levels = message.topic.split('/');
  if (levels[0] !== deviceId) return refused(stationId, 'forbidden_topic');
  const rest = levels.slice(1).join('/');
  if (rest === 'online') return online(message, stationId);
  if (rest === 'events/rpc') return notification(message, stationId, device.fieldMap);
  if (levels.length === 3 && levels[1] === 'status') return componentStatus(message, stationId, levels[2] ?? '', device.fieldMap);
  return ignored(stationId, `${rest} is not read`);
};

function online(message: IntakeMessage, stationId: StationId): Decoded {
  const text = textOf(message).trim();
  if (text === 'true') return status(stationId, true);
  if (text === 'false') return status(stationId, false);
  return refused(stationId, 'bad_status');
}

function notification(message: IntakeMessage, stationId: StationId, fieldMap: FieldMap | null): Decoded {
  const frame = jsonObjectOf(message);
  if (typeof frame === 'string') return refused(stationId, frame);
  if (!NOTIFICATIONS.has(frame['method'])) return ignored(stationId, `RPC ${String(frame['method'])} is not read`);
  const params = frame['params'];
  if (!isRecord(params)) return refused(stationId, 'not_object');
  // Float seconds (`1736915520.31`); a frame without it (never seen) is stamped on arrival.
  const ts = params['ts'];
  const seconds = numberOf(ts);
  if (ts !== undefined && (typeof ts !== 'number' || seconds === null)) return refused(stationId, 'bad_timestamp');
  const tsMs = seconds === null ? message.nowMs : Math.round(seconds * 1_000);
  return reading(message, stationId, params, fieldMap, tsMs);
}

function componentStatus(message: IntakeMessage, stationId: StationId, component: string, fieldMap: FieldMap | null): Decoded {
  const body = jsonObjectOf(message);
  if (typeof body === 'string') return refused(stationId, body);
  return reading(message, stationId, { [component]: body }, fieldMap, message.nowMs);
}

function reading(
  message: IntakeMessage,
  stationId: StationId,
  components: Record<string, unknown>,
  fieldMap: FieldMap | null,
  tsMs: number,
): Decoded {
  const { fields, failedAirTemp } = fieldsOf(components, fieldMap);
  // The temperature component came, without a value (`tC: null`, `errors: ["read"]`): a failed read, counted.
  if (fields.airTempC === undefined && failedAirTemp) return refused(stationId, 'non_finite');
  return pairedReading(message, stationId, fields, tsMs);
}

/** The fields of a status's components: the station's map for the fields it names, the H&T's components for the rest. */
function fieldsOf(components: Record<string, unknown>, fieldMap: FieldMap | null): { fields: Fields; failedAirTemp: boolean } {
  const named = new Set(Object.values(fieldMap ?? {}));
  const entries = [...Object.entries(fieldMap ?? {}), ...Object.entries(DEFAULT_MAP).filter(([, field]) => !named.has(field))];
  const fields: Fields = {};
  let failedAirTemp = false;
  for (const [component, field] of entries) {
    const body = components[component];
    if (!isRecord(body)) continue;
    const value = valueOf(body);
    if (value !== null) fields[field] ??= value;
    else if (field === 'airTempC' && body['tC'] === null) failedAirTemp = true;
  }
  return { fields, failedAirTemp };
}

/** A component's measurement: temperature `tC`, humidity `rh`, a battery's `V` (none on external power), a voltmeter's `voltage`. */
function valueOf(body: Record<string, unknown>): number | null {
  if ('tC' in body) return numberOf(body['tC']);
  if ('rh' in body) return numberOf(body['rh']);
  const battery = body['battery'];
  if (isRecord(battery)) {
    const external = body['external'];
    return isRecord(external) && external['present'] === true ? null : numberOf(battery['V']);
  }
  if ('voltage' in body) return numberOf(body['voltage']);
  return null;
}

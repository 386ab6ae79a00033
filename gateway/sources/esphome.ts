/**
 * ESPHome (docs/devices.md, "ESPHome"): a board logging in as its station, its `mqtt: topic_prefix` set to the
 * station's deviceId.
 * - `<prefix>/sensor/<object_id>/state` (or `<prefix>/<sub_device>/sensor/<object_id>/state`): one sensor's value as
 *   plain text (`-2.31`, `97`, `nan`, `None`). The object id names the field (the station's field map, or without one
 *   `…temp…` → airTempC, `…humid…` → rhPct, `…batt…volt…` → batteryV). ESPHome publishes each sensor apart, so a
 *   temperature becomes a reading stamped with the receive time, carrying the station's humidity and battery of the
 *   last 15 minutes; any other value is kept for that and the message ignored.
 * - `<prefix>/status` `online`/`offline` (birth and last will) → the station's online flag.
 * - other entities under the prefix, and Home Assistant discovery → ignored.
 */
import type { FieldMap, MappableField, StationId } from '../../contracts/index.js';
import { type Decoded, type IntakeMessage, refused } from '../intake.js';
import type { DeviceDecoder } from './index.js';
import { ignored } from './readings.js';
import { fieldProblem, pairedReading, status, textOf } from './wifi.js';

export const decodeEsphome: DeviceDecoder = (message, device) => {
  const { stationId, deviceId } = device;
  const levels = message.topic.split('/');
  // Discovery configs (retained at each boot unless `discovery: false`) and discover-ip replies: nothing to read.
  if (levels[0] === 'homeassistant' || (levels[0] === 'esphome' && levels[1] === 'discover')) return ignored(stationId, 'discovery');
  if (levels[0] !== deviceId) return refused(stationId, 'forbidden_topic');
  if (levels.length === 2 && levels[1] === 'status') return availability(message, stationId);
  const sensor = sensorOf(levels);
  if (sensor === null) return ignored(stationId, `${levels.slice(1).join('/')} is not read`);
  const field = fieldOf(sensor, device.fieldMap);
  if (field === null) return ignored(stationId, `sensor ${sensor.objectId} is not mapped to a field`);
  return sensorState(message, stationId, field);
};

function availability(message: IntakeMessage, stationId: StationId): Decoded {
  const text = textOf(message).trim().toLowerCase();
  if (text === 'online') return status(stationId, true);
  if (text === 'offline') return status(stationId, false);
  return refused(stationId, 'bad_status');
}

interface SensorTopic {
  objectId: string;
  /** With `sub_device_topics: true`: the sub-device's level. */
  subDevice: string | null;
}

function sensorOf(levels: readonly string[]): SensorTopic | null {
  if (levels.length === 4 && levels[1] === 'sensor' && levels[3] === 'state') return { objectId: levels[2] ?? '', subDevice: null };
  if (levels.length === 5 && levels[2] === 'sensor' && levels[4] === 'state')
    return { objectId: levels[3] ?? '', subDevice: levels[1] ?? null };
  return null;
}

/**
 * The field an object id feeds. A station's field map names its ids (`<sub_device>.<object_id>` before the bare id)
 * and nothing else is read; without a map, by name — never the chip's own `internal_temperature` or a dew point.
 */
function fieldOf(sensor: SensorTopic, fieldMap: FieldMap | null): MappableField | null {
  if (fieldMap !== null) {
    const qualified = sensor.subDevice === null ? undefined : fieldMap[`${sensor.subDevice}.${sensor.objectId}`];
    return qualified ?? fieldMap[sensor.objectId] ?? null;
  }
  const id = sensor.objectId.toLowerCase();
  if (/internal|cpu|chip|dew/.test(id)) return null;
  if (/batt.*volt|battery_voltage/.test(id)) return 'batteryV';
  if (id.includes('humid')) return 'rhPct';
  if (id.includes('temp')) return 'airTempC';
  return null;
}

/** A decimal as ESPHome prints it (`accuracy_decimals`): `-2.31`, `97`, `100`. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/** No value: `nan`/`-nan` (printf of NaN), `inf`, or `None` with `publish_nan_as_none`. */
const NO_VALUE = /^([+-]?(nan|inf|infinity)|none)$/i;

function sensorState(message: IntakeMessage, stationId: StationId, field: MappableField): Decoded {
  if (message.payload.byteLength > message.limits.maxBytes) return refused(stationId, 'too_large');
  const text = textOf(message).trim();
  if (NO_VALUE.test(text)) return refused(stationId, 'non_finite');
  // Never parseFloat: `21.5 °C` from a lambda would pass as 21.5.
  if (!DECIMAL.test(text)) return refused(stationId, 'wrong_type');
  const value = Number(text);
  if (!Number.isFinite(value)) return refused(stationId, 'non_finite');
  if (field !== 'airTempC') {
    const problem = fieldProblem(field, value, message.nowMs);
    if (problem !== null) return refused(stationId, problem);
  }
  return pairedReading(message, stationId, { [field]: value }, message.nowMs);
}

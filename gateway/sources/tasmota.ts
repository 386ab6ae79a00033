/**
 * Tasmota (docs/devices.md, "Tasmota"): a board logging in as its station, with its `Topic` set to the station's
 * deviceId and the default FullTopic `%prefix%/%topic%/`:
 * - `tele/<topic>/SENSOR` (every TelePeriod) and `stat/<topic>/STATUS10` (the answer to `Status 10`, wrapped in
 *   `StatusSNS`): one sensor object per key (`SHT3X`, `SHT3X-44`, `AM2301`, `DS18B20-1` with its `Id`, …) → a reading
 *   stamped with the receive time (Tasmota's `Time` is local time without a zone unless SetOption52);
 * - `tele/<topic>/LWT` `Online`/`Offline` → the station's online flag;
 * - everything else the board publishes on its own topic (STATE, INFO1…3, RESULT, its discovery) → ignored.
 */
import type { FieldMap, MappableField, StationId } from '../../contracts/index.js';
import { type Decoded, type IntakeMessage, refused } from '../intake.js';
import type { DeviceDecoder } from './index.js';
import { checkReadings, numberOf, ignored, isRecord } from './readings.js';
import { type Fields, celsiusOfFahrenheit, jsonObjectOf, status, textOf } from './wifi.js';

export const decodeTasmota: DeviceDecoder = (message, device) => {
  const { stationId, deviceId } = device;
  const levels = message.topic.split('/');
  // Tasmota's own discovery (`tasmota/discovery/<MAC>/config`, retained at each boot) names the board by MAC only.
  if (levels[0] === 'tasmota' && levels[1] === 'discovery') return ignored(stationId, 'Tasmota discovery');
  if (levels.length !== 3) return refused(stationId, 'unknown_topic');
  const [prefix, topic, kind] = levels as [string, string, string];
  if (prefix !== 'tele' && prefix !== 'stat' && prefix !== 'cmnd') return refused(stationId, 'unknown_topic');
  if (topic !== deviceId) return refused(stationId, 'forbidden_topic');
  if (prefix === 'tele') {
    if (kind === 'SENSOR') return sensorMessage(message, stationId, device.fieldMap, false);
    if (kind === 'LWT') return lwt(message, stationId);
    return ignored(stationId, `tele/${kind} is not read`);
  }
  if (prefix === 'stat') {
    if (kind === 'STATUS10' || kind === 'STATUS8') return sensorMessage(message, stationId, device.fieldMap, true);
    return ignored(stationId, `stat/${kind} is not read`);
  }
  // `cmnd/` is what the board listens to (authorize-subscribe.ts); a station never commands.
  return refused(stationId, 'forbidden_topic');
};

function lwt(message: IntakeMessage, stationId: StationId): Decoded {
  const text = textOf(message).trim().toLowerCase();
  if (text === 'online') return status(stationId, true);
  if (text === 'offline') return status(stationId, false);
  return refused(stationId, 'bad_status');
}

interface Sensor {
  /** The key as published (`SHT3X-0x44`, `DS18B20_2` with SetOption64). */
  name: string;
  body: Record<string, unknown>;
}

/** Sensors that measure humidity too: the air sensor of a station when no field map says otherwise. */
const HUMIDITY_SENSOR = /^(AM2301|DHT\d\d|SI70\d\d|HTU21|SHT[1-4C]|BME280|BME680|AHT[123]X|HDC1080|SCD[34]0)/i;
/** Dallas 1-Wire probes (DS18B20, DS18S20, DS1822, DS18x20, and `DS18Sens` with DS18Alias). */
const DS18 = /^DS18(B20|S20|22|X20|Sens)/i;
const isHumiditySensor = (s: Sensor): boolean => 'Humidity' in s.body || HUMIDITY_SENSOR.test(s.name);
const isDs18 = (s: Sensor): boolean => DS18.test(s.name);

/** `-` and `_` are the same in a sensor's name (SetOption64 switches them); case does not matter. */
const sameName = (a: string, b: string): boolean => a.replaceAll('_', '-').toLowerCase() === b.replaceAll('_', '-').toLowerCase();

const TEMPERATURES: ReadonlySet<MappableField> = new Set(['airTempC', 'leafTempC']);

/** A mapped field's default key in a sensor object: Temperature for temperatures, Humidity for humidity. */
const DEFAULT_KEY: Partial<Record<MappableField, string>> = { airTempC: 'Temperature', leafTempC: 'Temperature', rhPct: 'Humidity' };

function sensorMessage(message: IntakeMessage, stationId: StationId, fieldMap: FieldMap | null, wrapped: boolean): Decoded {
  const json = jsonObjectOf(message);
  if (typeof json === 'string') return refused(stationId, json);
  const body = wrapped ? json['StatusSNS'] : json;
  if (!isRecord(body)) return refused(stationId, 'not_object');
  const fahrenheit = typeof body['TempUnit'] === 'string' && body['TempUnit'].toUpperCase() === 'F';
  const sensors: Sensor[] = Object.entries(body).flatMap(([name, value]) => (isRecord(value) ? [{ name, body: value }] : []));
  const picked = pick(sensors, fieldMap);
  if (typeof picked === 'string') return refused(stationId, picked);
  const fields: Fields = {};
  for (const [field, value] of Object.entries(picked) as [MappableField, number][])
    fields[field] = fahrenheit && TEMPERATURES.has(field) ? celsiusOfFahrenheit(value) : value;
  return checkReadings(stationId, [{ ...fields, ts: message.nowMs }], message);
}

/**
 * The fields of one SENSOR body. A field the station's map names comes from the map only (`DS18B20-2`, a DS18B20's
 * `Id`, or `SHT3X.Temperature`); the air temperature otherwise from the first humidity sensor with a value, else the
 * first DS18x20, and the humidity from that same sensor. No temperature: `non_finite` when the sensor sent null
 * (Tasmota's NaN, a failed read), `missing_field` when there is no such sensor at all.
 */
function pick(sensors: readonly Sensor[], fieldMap: FieldMap | null): Fields | 'non_finite' | 'missing_field' {
  const fields: Fields = {};
  const used = new Set<Sensor>();
  let airSensor: Sensor | null = null;
  let sawNull = false;
  for (const [key, field] of Object.entries(fieldMap ?? {})) {
    const ref = resolve(sensors, key, field);
    if (ref === null) continue;
    used.add(ref.sensor);
    const value = numberOf(ref.sensor.body[ref.key]);
    if (value !== null) fields[field] = value;
    else if (field === 'airTempC' && ref.sensor.body[ref.key] === null) sawNull = true;
    if (field === 'airTempC' && ref.key === 'Temperature') airSensor = ref.sensor;
  }
  const mapped = new Set(Object.values(fieldMap ?? {}));
  if (!mapped.has('airTempC')) {
    const candidates = [...sensors.filter(isHumiditySensor), ...sensors.filter((s) => isDs18(s) && !isHumiditySensor(s))].filter(
      (s) => !used.has(s),
    );
    for (const candidate of candidates) {
      const value = numberOf(candidate.body['Temperature']);
      if (value === null) {
        sawNull ||= candidate.body['Temperature'] === null;
        continue;
      }
      fields.airTempC = value;
      airSensor = candidate;
      break;
    }
  }
  if (!mapped.has('rhPct') && airSensor) {
    const rh = numberOf(airSensor.body['Humidity']);
    if (rh !== null) fields.rhPct = rh;
  }
  if (fields.airTempC === undefined) return sawNull ? 'non_finite' : 'missing_field';
  return fields;
}

/** Which sensor and key a field map entry names in this body; null when the body has no such sensor. */
function resolve(sensors: readonly Sensor[], mapKey: string, field: MappableField): { sensor: Sensor; key: string } | null {
  const dot = mapKey.indexOf('.');
  const name = dot < 0 ? mapKey : mapKey.slice(0, dot);
  const key = dot < 0 ? DEFAULT_KEY[field] : mapKey.slice(dot + 1);
  if (key === undefined) return null;
  const sensor =
    sensors.find((s) => sameName(s.name, name)) ??
    sensors.find((s) => typeof s.body['Id'] === 'string' && s.body['Id'].toLowerCase() === name.toLowerCase());
  return sensor ? { sensor, key } : null;
}

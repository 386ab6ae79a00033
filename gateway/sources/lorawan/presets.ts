/**
 * What a LoRaWAN frost sensor's decoded payload means in frostwatch's fields, per device family (docs/devices.md).
 * The decoded payload is what the network server's codec made of the bytes: ChirpStack's `object`, The Things
 * Stack's `decoded_payload`, or frostwatch's own run of the vendor codec (`{data: …}`, unwrapped here).
 * Units are the vendors' own and already °C, % and V for the fields read; a battery in percent is not read.
 */
import type { DevicePreset, FieldMap, MappableField } from '../../../contracts/index.js';
import { numberOf, pathValue } from '../readings.js';

export type DeviceFields = Partial<Record<MappableField, number>>;

/** Each field: the decoded keys to try, first that holds a usable number wins. */
type Preset = Partial<Record<MappableField, readonly string[]>>;

const PRESETS: Record<Exclude<DevicePreset, 'sensecap-s210x'>, Preset> = {
  // Dragino LHT65/LHT65N: SHT20/31 inside the case; the external probe (TempC_DS, 327.67 when unplugged) is read
  // as the leaf (or grass) temperature, where such a probe is placed.
  'dragino-lht65': { airTempC: ['TempC_SHT'], rhPct: ['Hum_SHT'], leafTempC: ['TempC_DS'], batteryV: ['BatV'] },
  // Dragino LSN50/LSN50v2: an I²C SHT (TempC_SHT, "NULL" without one) or else the DS18B20 probe (TempC1).
  'dragino-lsn50': { airTempC: ['TempC_SHT', 'TempC1'], rhPct: ['Hum_SHT'], batteryV: ['BatV'] },
  // Milesight EM300-TH: battery in percent, not read.
  'milesight-em300-th': { airTempC: ['temperature'], rhPct: ['humidity'] },
  generic: {
    airTempC: ['airTempC', 'temperature', 'Temperature', 'temp', 'TempC', 'TempC_SHT', 'air_temperature', 'temperature_c'],
    rhPct: ['rhPct', 'humidity', 'Humidity', 'rh', 'Hum_SHT', 'relative_humidity', 'humidity_pct'],
    windMs: ['windMs', 'wind_speed', 'windSpeed'],
    leafTempC: ['leafTempC', 'leaf_temperature'],
    batteryV: ['batteryV', 'BatV', 'battery_v', 'batteryVoltage', 'battery_voltage', 'vbat'],
  },
};

/** SenseCAP S210x measurement ids (Seeed's list): 4097 air temperature °C, 4098 air humidity %. */
const SENSECAP_IDS: Readonly<Record<number, MappableField>> = { 4097: 'airTempC', 4098: 'rhPct' };

/** Sentinels vendors send for "no sensor": Dragino's 327.67 (0x7FFF/100) and −327.67. */
const isSentinel = (value: number): boolean => Math.abs(value) >= 327.67;

/** The frostwatch fields in a decoded payload: the preset's keys, then the station's own field map on top. */
export function lorawanFields(decoded: unknown, preset: DevicePreset | null, fieldMap: FieldMap | null): DeviceFields {
  const data = unwrap(decoded);
  if (data === null) return {};
  const fields: DeviceFields =
    (preset ?? 'generic') === 'sensecap-s210x'
      ? senseCap(data)
      : byKeys(data, PRESETS[preset === null || preset === 'sensecap-s210x' ? 'generic' : preset]);
  for (const [key, field] of Object.entries(fieldMap ?? {})) {
    const value = numberOf(pathValue(data, key));
    if (value !== null && !isSentinel(value)) fields[field] = value;
  }
  return fields;
}

function byKeys(data: Record<string, unknown>, preset: Preset): DeviceFields {
  const fields: DeviceFields = {};
  for (const [field, keys] of Object.entries(preset) as [MappableField, readonly string[]][]) {
    for (const key of keys) {
      const value = numberOf(data[key]);
      if (value !== null && !isSentinel(value)) {
        fields[field] = value;
        break;
      }
    }
  }
  return fields;
}

function senseCap(data: Record<string, unknown>): DeviceFields {
  const fields: DeviceFields = {};
  // The decoder answers `messages` as a flat list or a list of lists, depending on its version.
  const messages: unknown[] = Array.isArray(data['messages']) ? (data['messages'] as unknown[]).flat() : [];
  for (const message of messages) {
    if (typeof message !== 'object' || message === null) continue;
    const { measurementId, measurementValue } = message as Record<string, unknown>;
    const field = SENSECAP_IDS[Number(measurementId)];
    const value = numberOf(measurementValue);
    if (field !== undefined && value !== null) fields[field] = value;
  }
  return fields;
}

/** `{data: {…}, warnings, errors}` (TTN-style codec output) → its data; a plain object as it is; else null. */
function unwrap(decoded: unknown): Record<string, unknown> | null {
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) return null;
  const record = decoded as Record<string, unknown>;
  const data = record['data'];
  const isCodecOutput = Object.keys(record).every((k) => k === 'data' || k === 'warnings' || k === 'errors');
  if (isCodecOutput && typeof data === 'object' && data !== null && !Array.isArray(data)) return data as Record<string, unknown>;
  return record;
}

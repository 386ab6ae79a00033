import { z } from 'zod';

/**
 * Where a station's readings come from (docs/devices.md):
 * - `native`: frostwatch firmware (or the simulator) on `stations/{id}/readings` — docs/protocol.md;
 * - `chirpstack`: a LoRaWAN device whose ChirpStack v4 publishes its uplinks into frostwatch's broker;
 * - `ttn`: a LoRaWAN device on The Things Stack v3, whose MQTT server frostwatch subscribes to;
 * - `tasmota`, `esphome`, `shelly`: a Wi-Fi board with that vendor's firmware, logging in as its station.
 */
export const StationSourceSchema = z
  .enum(['native', 'chirpstack', 'ttn', 'tasmota', 'esphome', 'shelly'])
  .describe('native (frostwatch firmware, default), chirpstack, ttn, tasmota, esphome or shelly');
export type StationSource = z.infer<typeof StationSourceSchema>;

export const LORAWAN_SOURCES: readonly StationSource[] = ['chirpstack', 'ttn'];
export const isLorawan = (source: StationSource): boolean => LORAWAN_SOURCES.includes(source);

/** A LoRaWAN DevEUI as frostwatch keeps it: 16 lower-case hex digits (network servers send either case). */
export const DevEuiSchema = z.string().regex(/^[0-9a-f]{16}$/, 'deviceId: the DevEUI, 16 lower-case hex digits');

/** A Wi-Fi device's MQTT topic (Tasmota's %topic%, ESPHome's topic_prefix, Shelly's topic prefix): one topic level. */
export const DeviceTopicSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, 'deviceId: the device topic, 1–64 letters, digits, "_", "." or "-" (no "/", "+" or "#")');

/** The decoded-payload field names of common LoRaWAN frost sensors (frostwatch's presets, docs/devices.md). */
export const DevicePresetSchema = z
  .enum(['dragino-lht65', 'dragino-lsn50', 'milesight-em300-th', 'sensecap-s210x', 'generic'])
  .describe('which decoded field names to read; generic: temperature/humidity/battery style names');
export type DevicePreset = z.infer<typeof DevicePresetSchema>;

/** The reading fields a device's own names may map onto. */
export const MappableFieldSchema = z.enum(['airTempC', 'rhPct', 'windMs', 'leafTempC', 'batteryV']);
export type MappableField = z.infer<typeof MappableFieldSchema>;

/**
 * A device's own names → reading fields: ESPHome object ids (`outdoor_temperature` → airTempC), or decoded LoRaWAN
 * keys that differ from the preset's. Units must already be °C, %, m/s and V.
 */
export const FieldMapSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'field map key: a device field name'),
  MappableFieldSchema,
);
export type FieldMap = z.infer<typeof FieldMapSchema>;

/** How a station's device is connected: what the registry keeps beside the station. */
export const StationDeviceSchema = z.object({
  source: StationSourceSchema.optional().describe('default native'),
  deviceId: z.string().optional().describe('DevEUI (lower-case hex) for chirpstack/ttn; the device MQTT topic for tasmota/esphome/shelly'),
  preset: DevicePresetSchema.optional().describe('LoRaWAN only: the decoded field names (default generic)'),
  fieldMap: FieldMapSchema.optional(),
});
export type StationDevice = z.infer<typeof StationDeviceSchema>;

/** Each source's rule for its device id; the message names the field so a form or CSV line can point at it. */
export function deviceIdProblem(source: StationSource | undefined, deviceId: string | undefined): string | null {
  if (source === undefined || source === 'native')
    return deviceId === undefined ? null : 'deviceId: only for chirpstack, ttn, tasmota, esphome or shelly';
  if (deviceId === undefined) return `deviceId: required for source ${source}`;
  const schema = isLorawan(source) ? DevEuiSchema : DeviceTopicSchema;
  const parsed = schema.safeParse(deviceId);
  return parsed.success ? null : (parsed.error.issues[0]?.message ?? 'deviceId: invalid');
}

/** MQTT accounts of other systems that publish into frostwatch's broker: a ChirpStack's MQTT integration. */
export const IntegrationKindSchema = z.enum(['chirpstack']);
export type IntegrationKind = z.infer<typeof IntegrationKindSchema>;

export const IntegrationCreateSchema = z.object({
  kind: IntegrationKindSchema,
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'name: 1–40 lower-case letters, digits or dashes')
    .describe('e.g. "lac-duong"; the MQTT username is "<kind>:<name>"'),
});
export type IntegrationCreate = z.infer<typeof IntegrationCreateSchema>;

export const IntegrationCredentialsSchema = z.object({
  username: z.string(),
  password: z.string().describe('MQTT password; shown only this once'),
});
export type IntegrationCredentials = z.infer<typeof IntegrationCredentialsSchema>;

export const IntegrationSchema = z.object({
  kind: IntegrationKindSchema,
  name: z.string(),
  username: z.string(),
  createdAt: z.string().describe('ISO 8601'),
});
export type Integration = z.infer<typeof IntegrationSchema>;

/** An integration account's MQTT username: a colon never appears in a station id, so the two never collide. */
export const integrationUsername = (kind: IntegrationKind, name: string): string => `${kind}:${name}`;

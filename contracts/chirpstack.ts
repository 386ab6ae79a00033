import { z } from 'zod';

/**
 * ChirpStack v4's MQTT integration (docs/devices.md, "ChirpStack v4"), as its JSON marshaler writes it:
 * events on `application/{applicationId}/device/{devEui}/event/{event}`, downlinks taken from
 * `application/{applicationId}/device/{devEui}/command/down`.
 */
export const CHIRPSTACK_ROOT = 'application';

/** The events ChirpStack publishes; only `up` carries readings. */
export const ChirpstackEventSchema = z.enum(['up', 'status', 'join', 'ack', 'txack', 'log', 'location', 'integration']);
export type ChirpstackEvent = z.infer<typeof ChirpstackEventSchema>;

export interface ChirpstackTopic {
  applicationId: string;
  /** As the topic spells it (ChirpStack writes lower case). */
  devEui: string;
  event: ChirpstackEvent;
}

/** One topic level that is a plain name: no wildcard, not empty. */
const isLevel = (level: string): boolean => level !== '' && !level.includes('+') && !level.includes('#');

/** `application/{applicationId}/device/{devEui}/event/{event}` → its parts; anything else → null. */
export function parseChirpstackTopic(topic: string): ChirpstackTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 6) return null;
  const [root, applicationId, device, devEui, event, name] = parts as [string, string, string, string, string, string];
  if (root !== CHIRPSTACK_ROOT || device !== 'device' || event !== 'event' || !isLevel(applicationId) || !isLevel(devEui)) return null;
  const parsed = ChirpstackEventSchema.safeParse(name);
  return parsed.success ? { applicationId, devEui, event: parsed.data } : null;
}

/** Where ChirpStack takes a downlink for a device from. */
export const chirpstackDownlinkTopic = (applicationId: string, devEui: string): string =>
  `${CHIRPSTACK_ROOT}/${applicationId}/device/${devEui}/command/down`;

/**
 * The subscriptions a ChirpStack integration account may make: its command topics, for one application and device
 * or all of them (`application/+/device/+/command/down`; ChirpStack may subscribe with `command/+`).
 */
export function isChirpstackCommandFilter(filter: string): boolean {
  const parts = filter.split('/');
  if (parts.length !== 6) return false;
  const [root, applicationId, device, devEui, command, name] = parts as [string, string, string, string, string, string];
  const levelOrAny = (level: string): boolean => level === '+' || isLevel(level);
  return (
    root === CHIRPSTACK_ROOT &&
    device === 'device' &&
    command === 'command' &&
    levelOrAny(applicationId) &&
    levelOrAny(devEui) &&
    (name === 'down' || name === '+')
  );
}

/** ChirpStack's `rxInfo[]` entry: only the signal is read. */
const RxInfoSchema = z.looseObject({ rssi: z.number().optional() });

/**
 * An `up` event. Fields frostwatch does not read are kept out of the schema (ChirpStack adds fields between
 * versions); `object` is absent when the device profile has no codec or its codec failed.
 */
export const ChirpstackUplinkSchema = z.looseObject({
  deduplicationId: z.string().min(1).max(100).optional(),
  time: z.string().max(64).optional(),
  deviceInfo: z.looseObject({ devEui: z.string(), applicationId: z.string().optional() }),
  fCnt: z.number().int().nonnegative().optional(),
  fPort: z.number().int().min(0).max(255).optional(),
  data: z.string().optional(),
  object: z.unknown().optional(),
  rxInfo: z.array(RxInfoSchema).optional(),
});
export type ChirpstackUplink = z.infer<typeof ChirpstackUplinkSchema>;

/** What frostwatch publishes on the command topic: raw bytes (base64), never an `object` for ChirpStack's encoder. */
export const ChirpstackDownlinkSchema = z.object({
  devEui: z.string(),
  confirmed: z.boolean(),
  fPort: z.number().int().min(1).max(223),
  data: z.string().describe('base64'),
});
export type ChirpstackDownlink = z.infer<typeof ChirpstackDownlinkSchema>;

/**
 * RFC 3339 time as ChirpStack and The Things Stack write it (`2025-01-15T04:12:33.123456789+00:00`, `…Z`: up to
 * nanoseconds) →
 * epoch ms, the fraction cut to milliseconds; null when it is not such a time.
 */
export function parseRfc3339Ms(text: string): number | null {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(text);
  if (match === null) return null;
  const [, base, fraction, zone] = match as unknown as [string, string, string | undefined, string];
  const ms = (fraction ?? '').padEnd(3, '0').slice(0, 3);
  const parsed = Date.parse(`${base}.${ms}${zone.toUpperCase()}`);
  return Number.isFinite(parsed) ? parsed : null;
}

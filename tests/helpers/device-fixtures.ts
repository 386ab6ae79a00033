import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_PAYLOAD_LIMITS,
  type DeviceDirectory,
  type FieldMap,
  type StationDeviceInfo,
  type StationId,
  type StationSource,
} from '../../contracts/index.js';
import type { Decoded, IntakeMessage } from '../../gateway/intake.js';
import { SourceMemory } from '../../gateway/sources/memory.js';

const ROOT = join(import.meta.dirname, '..', 'fixtures', 'devices');

/** One message of tests/fixtures/devices/<source>/: the topic and the payload bytes exactly as the device publishes them. */
export interface DeviceFixture {
  file: string;
  topic: string;
  /** The published text: JSON payloads re-serialised compactly, plain-text ones as they are. */
  text: string;
  payload: Buffer;
  json: unknown;
}

export function deviceFixtures(source: 'tasmota' | 'esphome' | 'shelly'): DeviceFixture[] {
  const dir = join(ROOT, source);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const raw = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { topic: string; payload: unknown };
      const text = typeof raw.payload === 'string' ? raw.payload : JSON.stringify(raw.payload);
      return { file, topic: raw.topic, text, payload: Buffer.from(text, 'utf8'), json: raw.payload };
    });
}

export function deviceFixture(source: 'tasmota' | 'esphome' | 'shelly', file: string): DeviceFixture {
  const found = deviceFixtures(source).find((f) => f.file === file);
  if (!found) throw new Error(`no fixture ${source}/${file}`);
  return found;
}

/** A registry of one station, whose device is `deviceId` of `source`. */
export function oneDevice(
  stationId: string,
  source: StationSource,
  deviceId: string,
  fieldMap: FieldMap | null = null,
): { device: StationDeviceInfo; devices: DeviceDirectory } {
  const device: StationDeviceInfo = { stationId: stationId as StationId, source, deviceId, preset: null, fieldMap };
  return {
    device,
    devices: {
      ofStation: (id) => (id === stationId ? device : null),
      stationOf: (s, d) => (s === source && d === deviceId ? device : null),
    },
  };
}

/** The intake message a station's login publishes. */
export function stationMessage(
  stationId: string,
  topic: string,
  payload: string | Buffer,
  nowMs: number,
  devices: DeviceDirectory,
  memory: SourceMemory = new SourceMemory(),
): IntakeMessage {
  return {
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload,
    publisher: { kind: 'station', stationId: stationId as StationId },
    nowMs,
    limits: DEFAULT_PAYLOAD_LIMITS,
    devices,
    memory,
  };
}

/** The decoded message with its counts as a plain object, for toEqual. */
export function plain(decoded: Decoded): Record<string, unknown> {
  const { rejects, ...rest } = decoded;
  const out: Record<string, unknown> = { ...rest, rejects: Object.fromEntries(rejects) };
  if (decoded.kind === 'ignored') delete out['why'];
  return out;
}

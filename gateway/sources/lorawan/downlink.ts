/**
 * The adaptive-sampling config (`{intervalS}`, server/warnings/frost-engine.ts) as the LoRaWAN device of a preset
 * understands it: the bytes and the fPort of its "set the reporting interval" downlink (docs/devices.md, "Downlinks").
 * null: that device has no such command frostwatch knows, and keeps the interval it was configured with.
 */
import type { DevicePreset, StationConfig } from '../../../contracts/index.js';

export interface Downlink {
  fPort: number;
  bytes: Uint8Array;
}

/** Dragino's TDC ("transmit interval"): command 0x01, then the seconds as 3 bytes big-endian; any fPort, 2 used. */
function draginoTdc(seconds: number): Downlink {
  return { fPort: 2, bytes: Uint8Array.of(0x01, (seconds >> 16) & 0xff, (seconds >> 8) & 0xff, seconds & 0xff) };
}

/** Milesight's reporting interval: `ff 03` then the seconds as uint16 little-endian, on fPort 85. */
function milesightInterval(seconds: number): Downlink {
  return { fPort: 85, bytes: Uint8Array.of(0xff, 0x03, seconds & 0xff, (seconds >> 8) & 0xff) };
}

const ENCODERS: Partial<Record<DevicePreset, (seconds: number) => Downlink>> = {
  'dragino-lht65': draginoTdc,
  'dragino-lsn50': draginoTdc,
  'milesight-em300-th': milesightInterval,
};

/** The downlink that sets the device's interval, or null where the preset has none (SenseCAP, generic). */
export function intervalDownlink(preset: DevicePreset | null, config: StationConfig): Downlink | null {
  const encode = preset === null ? undefined : ENCODERS[preset];
  if (encode === undefined) return null;
  const seconds = Math.round(config.intervalS);
  // 10…3600 s by the contract; both encodings hold far more, so a value out of range is a bug, not a device limit.
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 0xffff) return null;
  return encode(seconds);
}

/**
 * One decoder per message source (docs/devices.md), in front of the intake's one accept step (gateway/intake.ts).
 * Which decoder reads a message follows from who published it:
 * - an integration account (a ChirpStack's MQTT integration) → that integration's decoder;
 * - a station's login → the decoder of the station's registered source (native, tasmota, esphome, shelly);
 * - a broker the server consumes from → native (a gateway run alone republishes every source's readings natively).
 */
import type { IntegrationKind, StationDeviceInfo, StationSource } from '../../contracts/index.js';
import { type Decoded, type IntakeMessage, type Publisher, decodeStationMessage, refused } from '../intake.js';
import { decodeChirpstack } from './chirpstack.js';
import { loadCodecRuntime } from './lorawan/codec-sandbox.js';
import { decodeEsphome } from './esphome.js';
import { decodeShelly } from './shelly.js';
import { decodeTasmota } from './tasmota.js';

/** A Wi-Fi board's decoder: the station is known (its login), `device` says its topic and field names. */
export type DeviceDecoder = (message: IntakeMessage, device: StationDeviceInfo) => Decoded;

/** Wi-Fi boards logging in as their station: one line per source. */
const DEVICE_DECODERS: Partial<Record<StationSource, DeviceDecoder>> = {
  tasmota: decodeTasmota,
  esphome: decodeEsphome,
  shelly: decodeShelly,
};

/** Other systems' accounts publishing their devices' messages: one line per integration kind. */
const INTEGRATION_DECODERS: Partial<Record<IntegrationKind, (message: IntakeMessage) => Decoded>> = { chirpstack: decodeChirpstack };

/**
 * What must be ready before `decodeMessage` runs for this publisher: a ChirpStack uplink may need a vendor codec, whose
 * WebAssembly runtime is loaded at the first one (lorawan/codec-sandbox.ts). Null, the common case: nothing to wait for.
 */
export function prepareDecoder(publisher: Publisher): Promise<void> | null {
  return publisher.kind === 'integration' ? loadCodecRuntime() : null; // ChirpStack is the one integration kind
}

export function decodeMessage(message: IntakeMessage): Decoded {
  const { publisher } = message;
  if (publisher.kind === 'integration') {
    const decoder = INTEGRATION_DECODERS[publisher.integration];
    return decoder ? decoder(message) : refused(null, 'forbidden_topic');
  }
  if (publisher.kind === 'station' && publisher.stationId !== null && message.devices) {
    const device = message.devices.ofStation(publisher.stationId);
    if (device && device.source !== 'native') {
      const decoder = DEVICE_DECODERS[device.source];
      // A station registered for a source this gateway cannot read (ttn: read by the server's TTS client).
      return decoder ? decoder(message, device) : refused(publisher.stationId, 'forbidden_topic');
    }
  }
  return decodeStationMessage(message);
}

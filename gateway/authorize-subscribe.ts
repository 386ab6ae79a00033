import type { AedesOptions } from 'aedes';
import type { Logger } from 'pino';
import { ALL_READINGS_FILTER, ALL_STATUS_FILTER, type DeviceDirectory, type StationId, configTopic } from '../contracts/index.js';
import type { Identities } from './identity.js';
import { isChirpstackCommandFilter } from '../contracts/chirpstack.js';

export type AuthorizeSubscribeHandler = NonNullable<AedesOptions['authorizeSubscribe']>;

const SERVICE_FILTERS: ReadonlySet<string> = new Set([ALL_READINGS_FILTER, ALL_STATUS_FILTER]);

/**
 * First topic levels that belong to others: frostwatch's own, Tasmota's prefixes, discovery, the LoRaWAN network
 * servers'. A Wi-Fi board whose device topic is one of them (`stations`, say) never gets `<deviceId>/…`, which would
 * be everyone's readings.
 */
const SHARED_ROOTS: ReadonlySet<string> = new Set([
  'stations',
  'cmnd',
  'stat',
  'tele',
  'tasmota',
  'homeassistant',
  'esphome',
  'shellies',
  'application',
  'gateway',
  'v3',
]);

/**
 * aedes `authorizeSubscribe`: a station may subscribe only to its own config and, when it is a Wi-Fi board (Tasmota,
 * ESPHome, Shelly), to its own device's command topics; the service account only to all readings and all statuses.
 * A refusal answers `(null, null)`, which aedes turns into SUBACK 0x80 for that filter [MQTT-3.9.3] and keeps the
 * connection, rather than an error, which would drop it (Tasmota's group topic `cmnd/tasmotas/#` is refused so).
 */
export function createAuthorizeSubscribe(identities: Identities, logger: Logger, devices?: DeviceDirectory): AuthorizeSubscribeHandler {
  return (client, sub, callback) => {
    const identity = identities.get(client);
    // An integration account (a ChirpStack) may take its downlinks: its command topics, nothing else.
    if (identity?.kind === 'integration' && isChirpstackCommandFilter(sub.topic)) {
      callback(null, sub);
      return;
    }
    const allowed =
      identity?.kind === 'station'
        ? sub.topic === configTopic(identity.stationId) || isOwnCommandFilter(sub.topic, identity.stationId, devices)
        : identity?.kind === 'service' && SERVICE_FILTERS.has(sub.topic);
    if (allowed) {
      callback(null, sub);
      return;
    }
    logger.warn({ clientId: client.id, identity, filter: sub.topic }, 'subscription refused');
    callback(null, null);
  };
}

/**
 * The command topics of the station's own device: Tasmota's `cmnd/<deviceId>/…` (it subscribes `cmnd/<topic>/#`),
 * ESPHome's and Shelly's `<deviceId>/…` (`<prefix>/switch/x/command`, Shelly's `<prefix>/rpc`, or `<prefix>/#`).
 */
export function isOwnCommandFilter(filter: string, stationId: StationId, devices: DeviceDirectory | undefined): boolean {
  const device = devices?.ofStation(stationId);
  const deviceId = device?.deviceId;
  if (!device || deviceId === null || deviceId === undefined) return false;
  switch (device.source) {
    case 'tasmota':
      return filter === `cmnd/${deviceId}` || filter.startsWith(`cmnd/${deviceId}/`);
    case 'esphome':
    case 'shelly':
      return !SHARED_ROOTS.has(deviceId.toLowerCase()) && filter.startsWith(`${deviceId}/`);
    default:
      return false;
  }
}

import type { Aedes } from 'aedes';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  type ChirpstackDownlink,
  type StationConfig,
  type StationId,
  chirpstackDownlinkTopic,
  configTopic,
} from '../../contracts/index.js';
import type { ChirpstackApplications } from '../../gateway/sources/chirpstack.js';
import { intervalDownlink } from '../../gateway/sources/lorawan/downlink.js';
import type { StationRepository } from '../registry/stations.js';
import type { ConfigPublisher } from './frost-engine.js';

/** Retained station config through the in-process broker (frostwatch up). */
export function brokerConfigPublisher(broker: Aedes): ConfigPublisher {
  return {
    publish: (stationId, config) =>
      new Promise((resolve, reject) => {
        const packet = {
          cmd: 'publish' as const,
          topic: configTopic(stationId),
          payload: Buffer.from(JSON.stringify(config)),
          qos: 1 as const,
          retain: true,
          dup: false,
        };
        broker.publish(packet, (err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** Retained station config through the broker the server consumes from (frostwatch server). */
export function clientConfigPublisher(client: MqttClient): ConfigPublisher {
  return {
    publish: async (stationId, config) => {
      await client.publishAsync(configTopic(stationId), JSON.stringify(config), { qos: 1, retain: true });
    },
  };
}

/** The Things Stack's downlink push (server/sources/tts.ts, `pushDownlink`), when the server runs a TTS client. */
export type TtsDownlinkPush = (deviceId: string, fPort: number, bytes: Uint8Array) => Promise<void>;

export interface RoutingConfigPublisherDeps {
  /** Whose station is whose device. */
  stations: Pick<StationRepository, 'get'>;
  /** Native stations: the retained `stations/{id}/config`. */
  native: ConfigPublisher;
  /** The in-process broker ChirpStack's integration account subscribes to, and the applications its uplinks named. */
  chirpstack?: { broker: Aedes; applications: ChirpstackApplications } | undefined;
  /** A TTS client's downlink push; absent: TTN stations keep their interval. */
  ttn?: TtsDownlinkPush | undefined;
  logger: Logger;
}

/**
 * The engine's sampling config, routed by the station's source (docs/devices.md, "Downlinks"):
 * - native: the retained `stations/{id}/config`, as ever;
 * - chirpstack: the preset's interval downlink on `application/{applicationId}/device/{devEui}/command/down`
 *   (not retained: ChirpStack queues each one it receives). The application is the one the device's last uplink came
 *   from; until one has come since the gateway started, the newest config waits and goes out with that uplink — a
 *   class A device can only hear a downlink after an uplink anyway;
 * - ttn: the preset's downlink through the TTS client, when there is one;
 * - tasmota, esphome, shelly, and presets without an interval command: nothing to send (their devices keep the
 *   interval they were configured with); resolves, logged at debug.
 */
export function routingConfigPublisher(deps: RoutingConfigPublisherDeps): ConfigPublisher {
  const { stations, native, chirpstack, ttn, logger } = deps;
  /** Configs waiting for the device's application: the newest per DevEUI. */
  const waiting = new Map<string, { stationId: StationId; config: StationConfig }>();
  chirpstack?.applications.onLearn((devEui) => {
    const held = waiting.get(devEui);
    if (held === undefined) return;
    waiting.delete(devEui);
    // Learnt inside the broker's publish hook: send once that hook has returned.
    setImmediate(() => {
      publishChirpstack(held.stationId, held.config).catch((err: unknown) =>
        logger.warn({ err, stationId: held.stationId }, 'could not send the waiting ChirpStack downlink'),
      );
    });
  });

  const publishChirpstack = async (stationId: StationId, config: StationConfig): Promise<void> => {
    const station = stations.get(stationId);
    if (!chirpstack || station === null || station.source !== 'chirpstack' || station.deviceId === null) return;
    const downlink = intervalDownlink(station.preset, config);
    if (downlink === null) {
      logger.debug({ stationId, preset: station.preset }, 'no interval downlink for this preset; config not sent');
      return;
    }
    const devEui = station.deviceId;
    const applicationId = chirpstack.applications.applicationOf(devEui);
    if (applicationId === null) {
      waiting.set(devEui, { stationId, config });
      logger.debug({ stationId, devEui }, 'ChirpStack application not known yet; the downlink waits for an uplink');
      return;
    }
    const command: ChirpstackDownlink = {
      devEui,
      confirmed: false,
      fPort: downlink.fPort,
      data: Buffer.from(downlink.bytes).toString('base64'),
    };
    await new Promise<void>((resolve, reject) => {
      chirpstack.broker.publish(
        {
          cmd: 'publish',
          topic: chirpstackDownlinkTopic(applicationId, devEui),
          payload: Buffer.from(JSON.stringify(command)),
          qos: 1,
          retain: false,
          dup: false,
        },
        (err) => (err ? reject(err) : resolve()),
      );
    });
    logger.info({ stationId, devEui, intervalS: config.intervalS, fPort: downlink.fPort }, 'ChirpStack downlink queued');
  };

  return {
    publish: async (stationId, config) => {
      const station = stations.get(stationId);
      const source = station?.source ?? 'native';
      if (source === 'native') return native.publish(stationId, config);
      if (source === 'chirpstack') {
        if (!chirpstack) logger.debug({ stationId }, 'no in-process broker for ChirpStack downlinks; config not sent');
        return publishChirpstack(stationId, config);
      }
      if (source === 'ttn' && ttn && station?.deviceId) {
        const downlink = intervalDownlink(station.preset, config);
        if (downlink !== null) return ttn(station.deviceId, downlink.fPort, downlink.bytes);
      }
      logger.debug({ stationId, source }, 'station keeps its own interval; config not sent');
    },
  };
}

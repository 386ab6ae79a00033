import { connect, type MqttClient } from 'mqtt';
import type { StationId } from '../contracts/index.js';
import { statusTopic } from '../contracts/index.js';
import type { SimDeviceSpec } from './layout.js';

const OFFLINE = JSON.stringify({ online: false });

/** Dial the broker the way the station firmware does (docs/protocol.md). */
/** `ca`: the CAs to trust for mqtts:// and wss:// (a private CA beside the system's); undefined → Node's defaults. */
export function openLink(brokerUrl: string, station: Pick<SimDeviceSpec, 'id' | 'token'>, ca?: string[]): MqttClient {
  return connect(brokerUrl, {
    clientId: station.id, // stable, so the broker keeps the session (clean: false) across reconnects
    username: station.id,
    password: station.token,
    clean: false,
    keepalive: 60,
    protocolVersion: 4, // aedes 1.x speaks MQTT 3.1.1 only
    reconnectPeriod: 0, // the device runs its own reconnect loop and resends from its own buffer
    connectTimeout: 10_000,
    will: { topic: statusTopic(station.id), payload: Buffer.from(OFFLINE), qos: 1, retain: true },
    ...(ca ? { ca } : {}),
  });
}

/**
 * Power-off: publish the retained offline status (waiting at most a second for its PUBACK, as the
 * link may be dead), then drop the socket; the will repeats the same status if the first was lost.
 */
export async function closeLink(client: MqttClient, stationId: StationId): Promise<void> {
  const published = new Promise<void>((resolve) => {
    if (!client.connected) {
      resolve();
      return;
    }
    client.publish(statusTopic(stationId), OFFLINE, { qos: 1, retain: true }, () => resolve());
  });
  await Promise.race([published, new Promise<void>((resolve) => setTimeout(resolve, 1_000).unref())]);
  await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
}

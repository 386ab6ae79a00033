/**
 * Bench stations: plain mqtt.js clients that log in as a registered station and publish readings (QoS 1),
 * the way firmware does — without the simulator's weather, so a benchmark controls every value it sends.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { type Reading, type StationId, isStationId, readingsTopic } from '../../contracts/index.js';
import { pool } from './system.js';

export interface BenchStation {
  id: StationId;
  client: MqttClient;
}

export async function connectStation(url: string, id: string, token: string): Promise<BenchStation> {
  if (!isStationId(id)) throw new Error(`not a station id: ${id}`);
  const connecting = mqtt.connectAsync(url, {
    clientId: id,
    username: id,
    password: token,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 60_000,
    keepalive: 300,
  });
  // mqtt.js never settles connectAsync when the server closes the socket before its CONNACK (a limit refusing the
  // connection): without this a refused station hung a whole run for good instead of failing it.
  let timer: NodeJS.Timeout | undefined;
  const client = await Promise.race([
    connecting,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`station ${id}: no CONNACK within 60 s (refused by a gateway limit?)`)), 60_000);
    }),
  ]).finally(() => clearTimeout(timer));
  // The server going away (a restart the bench makes on purpose) resets the socket: expected, not a bench failure.
  client.on('error', () => undefined);
  return { id, client };
}

/** Connect every station, `parallel` handshakes at a time (each first login costs the server one scrypt). */
export async function connectAll(
  url: string,
  tokens: ReadonlyMap<string, string>,
  parallel: number,
  onProgress?: (done: number) => void,
): Promise<BenchStation[]> {
  const entries = [...tokens.entries()];
  const stations: BenchStation[] = new Array<BenchStation>(entries.length);
  let done = 0;
  await pool(entries, parallel, async ([id, token], i) => {
    stations[i] = await connectStation(url, id, token);
    done += 1;
    onProgress?.(done);
  });
  return stations;
}

/** Publish one reading or a batch at QoS 1; resolves on PUBACK (i.e. once the server made it durable). */
export async function publishReadings(station: BenchStation, payload: Reading | readonly Reading[]): Promise<void> {
  await station.client.publishAsync(readingsTopic(station.id), JSON.stringify(payload), { qos: 1 });
}

export async function disconnectAll(stations: readonly (BenchStation | undefined)[]): Promise<void> {
  await pool(stations, 200, async (station) => {
    if (station) await station.client.endAsync(true).catch(() => undefined);
  });
}

/** A calm, mild reading: nothing in it should ever move the frost ladder. */
export function mildReading(ts: number, i: number): Reading {
  return { ts, airTempC: 15 + ((i * 7) % 20) / 10, rhPct: 70, windMs: 1.2, batteryV: 4.0 };
}

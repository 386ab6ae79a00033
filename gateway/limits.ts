/**
 * What one MQTT peer may cost the gateway. The defaults, and why; `frostwatch up` / `frostwatch gateway` override
 * `maxConnections` and `publishesPerS` from MQTT_MAX_CONNECTIONS and MQTT_MAX_PUBLISH_PER_S.
 */
export interface ConnectionLimits {
  /** Open MQTT connections, all transports together; the next one is closed at once. */
  maxConnections: number;
  /** Connections not yet authenticated (their CONNACK follows at once), all addresses together. */
  maxPending: number;
  /** Connections not yet authenticated from one remote address (TCP, TLS and WebSocket alike). */
  maxPendingPerAddress: number;
  /** Time from accept to a successful login (the CONNACK follows at once); a connection still waiting is closed. */
  connectTimeoutMs: number;
}

export interface PublishLimits {
  /** Sustained PUBLISH packets per second per station connection, in the clock's seconds (scaled by `--speed`). */
  publishesPerS: number;
  /** Publishes a station may send at once above the sustained rate before it is slowed down. */
  publishBurst: number;
  /** A publish that would have to wait longer than this for its turn disconnects the station instead. */
  maxPublishDelayMs: number;
}

export type GatewayLimits = ConnectionLimits & PublishLimits;

export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = {
  // A district runs tens to a few hundred stations; 2,000 leaves room for growth and for a reconnect storm
  // while bounding what a flood can make the process hold (an aedes client, parser and socket buffers each).
  maxConnections: 2_000,
  // A CONNECT takes one round trip plus one keyed-hash check (microseconds); even a whole district reconnecting
  // after a tower outage leaves far fewer than this waiting at one moment.
  maxPending: 256,
  // Stations on one mobile carrier may share a public address (CGNAT), so this is not 1; a flood from one
  // address holds at most this many half-open slots and cannot fill maxPending alone.
  maxPendingPerAddress: 64,
  // A station on 2G/3G sends CONNECT within a few round trips of the TCP handshake; aedes' 30 s default lets a
  // slowloris peer hold a slot three times as long.
  connectTimeoutMs: 10_000,
  // A live station publishes a reading a minute; a backfill is a few messages a second (arrays of ≤ 100 readings).
  // 20/s is several times that, and still small next to what the whole gateway handles (~1,200/s, BENCHMARKS.md).
  publishesPerS: 20,
  // After an outage the firmware may push its whole buffer at once: 12 h of minute readings sent one per
  // message is 720 publishes; 500 at once and the rest at 20/s keeps every PUBACK within a few seconds.
  publishBurst: 500,
  // Beyond this a peer is not backfilling but flooding: close it (a station keeps its unacknowledged readings).
  maxPublishDelayMs: 10_000,
};

/**
 * The limits an operator sets (MQTT_MAX_CONNECTIONS, MQTT_MAX_PUBLISH_PER_S); the rest stay at their defaults.
 * `ownStations`: stations this process connects itself (`up --sim N`), which the connection limit must not refuse.
 */
export function trafficLimitsFromEnv(
  env: { MQTT_MAX_CONNECTIONS?: number | undefined; MQTT_MAX_PUBLISH_PER_S?: number | undefined },
  ownStations = 0,
): Partial<GatewayLimits> {
  const maxConnections = env.MQTT_MAX_CONNECTIONS ?? DEFAULT_GATEWAY_LIMITS.maxConnections;
  return {
    maxConnections: Math.max(maxConnections, ownStations * 2),
    ...(env.MQTT_MAX_PUBLISH_PER_S !== undefined && { publishesPerS: env.MQTT_MAX_PUBLISH_PER_S }),
  };
}

/**
 * For throughput benchmarks only: a few publishers pushing as hard as they can are exactly what the per-station
 * limits exist to slow down, so with them the bench would measure the limit, not the gateway.
 */
export const UNLIMITED_FOR_BENCH: Partial<GatewayLimits> = {
  maxConnections: 1_000_000,
  maxPending: 100_000,
  maxPendingPerAddress: 100_000,
  publishesPerS: 1_000_000,
};

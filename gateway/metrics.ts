import { Counter, Gauge, type Registry } from 'prom-client';

export type MessageKind = 'readings' | 'status' | 'config' | 'rejected';

export type AuthFailureReason =
  'missing_credentials' | 'bad_station_id' | 'unknown_station' | 'bad_token' | 'revoked' | 'locked_out' | 'authenticator_error';

export interface GatewayMetrics {
  messages: Counter<'kind'>;
  rejected: Counter<'reason'>;
  authFailures: Counter<'reason'>;
  /** Connections closed by a limit (gateway/connection-limits.ts). */
  connectionsRefused: Counter<'reason'>;
  /** Station publishes over the rate (gateway/publish-rate.ts): held back, or the connection closed. */
  publishesThrottled: Counter<'outcome'>;
}

/** Gateway metrics on the registry passed in; `countStations` is read at scrape time. */
export function createGatewayMetrics(registry: Registry, countStations: () => number): GatewayMetrics {
  new Gauge({
    name: 'frostwatch_gateway_connected_stations',
    help: 'Stations with an open MQTT connection',
    registers: [registry],
    collect() {
      this.set(countStations());
    },
  });
  return {
    messages: new Counter({
      name: 'frostwatch_gateway_messages_total',
      help: 'PUBLISH packets seen by the gateway, by topic kind (rejected: diverted, reached no subscriber)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'frostwatch_gateway_rejected_total',
      help: 'Readings or messages refused at the gateway, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'frostwatch_gateway_auth_failures_total',
      help: 'Refused MQTT CONNECTs, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    connectionsRefused: new Counter({
      name: 'frostwatch_gateway_connections_refused_total',
      help: 'MQTT connections closed by a limit: max_connections, max_pending, pending_per_address, connect_timeout; or without the PROXY header expected (proxy_header)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    publishesThrottled: new Counter({
      name: 'frostwatch_gateway_publishes_throttled_total',
      help: 'Station publishes over the per-station rate: delayed (PUBACK later), or disconnected',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}

import { Counter, Gauge, type Registry } from 'prom-client';

export type MessageKind = 'readings' | 'status' | 'config' | 'rejected';

export type AuthFailureReason = 'missing_credentials' | 'bad_station_id' | 'unknown_station' | 'bad_token' | 'authenticator_error';

export interface GatewayMetrics {
  messages: Counter<'kind'>;
  rejected: Counter<'reason'>;
  authFailures: Counter<'reason'>;
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
  };
}

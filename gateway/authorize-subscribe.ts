import type { AedesOptions } from 'aedes';
import type { Logger } from 'pino';
import { ALL_READINGS_FILTER, ALL_STATUS_FILTER, configTopic } from '../contracts/index.js';
import type { Identities } from './identity.js';

export type AuthorizeSubscribeHandler = NonNullable<AedesOptions['authorizeSubscribe']>;

const SERVICE_FILTERS: ReadonlySet<string> = new Set([ALL_READINGS_FILTER, ALL_STATUS_FILTER]);

/**
 * aedes `authorizeSubscribe`: a station may subscribe only to its own config; the service account only to
 * all readings and all statuses. A refusal answers `(null, null)`, which aedes turns into SUBACK 0x80 for
 * that filter [MQTT-3.9.3] and keeps the connection, rather than an error, which would drop it.
 */
export function createAuthorizeSubscribe(identities: Identities, logger: Logger): AuthorizeSubscribeHandler {
  return (client, sub, callback) => {
    const identity = identities.get(client);
    const allowed =
      identity?.kind === 'station'
        ? sub.topic === configTopic(identity.stationId)
        : identity?.kind === 'service' && SERVICE_FILTERS.has(sub.topic);
    if (allowed) {
      callback(null, sub);
      return;
    }
    logger.warn({ clientId: client.id, identity, filter: sub.topic }, 'subscription refused');
    callback(null, null);
  };
}

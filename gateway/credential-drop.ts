import type { Aedes, Client } from 'aedes';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { CredentialChanges } from '../contracts/index.js';
import type { Identities } from './identity.js';

/**
 * Closes a station's open connections as soon as its token is revoked or replaced: the token it connected with
 * is no longer valid, so it must CONNECT again and prove the current one. Returns the unsubscribe function.
 */
export function dropOnCredentialChange(
  broker: Aedes,
  identities: Identities,
  changes: CredentialChanges,
  logger: Logger,
  registry: Registry,
): () => void {
  const dropped = new Counter({
    name: 'frostwatch_gateway_credential_drops_total',
    help: 'Station connections closed because the station token was revoked or rotated',
    registers: [registry],
  });
  return changes.onChange((stationId) => {
    for (const client of registeredClients(broker)) {
      if (identities.stationOf(client) !== stationId || client.closed) continue;
      dropped.inc();
      logger.warn({ stationId, clientId: client.id }, 'station token revoked or replaced; connection closed');
      client.close();
    }
  });
}

/**
 * Every client past authentication, including one whose CONNACK is still on its way (aedes registers it
 * before `clientReady`). `clients` is public in aedes but missing from its type declarations.
 */
function registeredClients(broker: Aedes): Client[] {
  return Object.values((broker as unknown as { clients: Record<string, Client> }).clients);
}

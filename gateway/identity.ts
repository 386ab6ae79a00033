import type { Client } from 'aedes';
import type { IntegrationKind, StationId } from '../contracts/index.js';

/**
 * Who an authenticated MQTT connection is: a station (any device logging in with a station's token), the server's
 * service account, or another system's integration account (a ChirpStack publishing its devices' uplinks).
 */
export type Identity =
  { kind: 'station'; stationId: StationId } | { kind: 'service' } | { kind: 'integration'; integration: IntegrationKind; username: string };

/**
 * Remembers the identity established at CONNECT for the life of the client object. A WeakMap so a
 * closed client (still seen by the will publish) keeps its identity and nothing leaks afterwards.
 */
export class Identities {
  readonly #byClient = new WeakMap<Client, Identity>();

  set(client: Client, identity: Identity): void {
    this.#byClient.set(client, identity);
  }

  get(client: Client | null | undefined): Identity | undefined {
    return client ? this.#byClient.get(client) : undefined;
  }

  stationOf(client: Client | null | undefined): StationId | null {
    const identity = this.get(client);
    return identity?.kind === 'station' ? identity.stationId : null;
  }
}

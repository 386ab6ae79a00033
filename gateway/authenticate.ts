import { createHash, timingSafeEqual } from 'node:crypto';
import type { AedesOptions, AuthErrorCode, Client } from 'aedes';
import type { Logger } from 'pino';
import { isStationId, type StationAuthenticator } from '../contracts/index.js';
import type { Identities } from './identity.js';
import type { AuthFailureReason, GatewayMetrics } from './metrics.js';

export type AuthenticateHandler = NonNullable<AedesOptions['authenticate']>;

export interface ServiceAccount {
  username: string;
  password: string;
}

export interface AuthenticateDeps {
  authenticator: StationAuthenticator;
  serviceAccount?: ServiceAccount | undefined;
  identities: Identities;
  metrics: GatewayMetrics;
  logger: Logger;
}

// CONNACK return codes, MQTT 3.1.1 §3.2.2.3.
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

const RETURN_CODE: Record<AuthFailureReason, number> = {
  missing_credentials: BAD_USERNAME_OR_PASSWORD,
  bad_station_id: BAD_USERNAME_OR_PASSWORD,
  bad_token: BAD_USERNAME_OR_PASSWORD,
  unknown_station: NOT_AUTHORIZED,
  // The registry is unreachable: "server unavailable" tells the station to retry, not that it is banned.
  authenticator_error: SERVER_UNAVAILABLE,
};

/** aedes `authenticate`: username = station id, password = its token; or the server's service account. */
export function createAuthenticate(deps: AuthenticateDeps): AuthenticateHandler {
  return (client, username, password, done) => {
    identify(deps, username, password).then(
      (outcome) => {
        if (outcome.ok) {
          deps.identities.set(client, outcome.identity);
          return done(null, true);
        }
        refuse(deps, client, username, outcome.reason, done);
      },
      (err: unknown) => {
        deps.logger.error({ err, stationId: username }, 'station authenticator failed');
        refuse(deps, client, username, 'authenticator_error', done);
      },
    );
  };
}

type Outcome = { ok: true; identity: Parameters<Identities['set']>[1] } | { ok: false; reason: AuthFailureReason };

async function identify(deps: AuthenticateDeps, username: string | undefined, password: Buffer | undefined): Promise<Outcome> {
  if (username === undefined || password === undefined) return { ok: false, reason: 'missing_credentials' };
  const service = deps.serviceAccount;
  if (service && username === service.username) {
    return sameSecret(password, service.password) ? { ok: true, identity: { kind: 'service' } } : { ok: false, reason: 'bad_token' };
  }
  if (!isStationId(username)) return { ok: false, reason: 'bad_station_id' };
  const check = await deps.authenticator.verify(username, password);
  return check === 'ok' ? { ok: true, identity: { kind: 'station', stationId: username } } : { ok: false, reason: check };
}

function refuse(deps: AuthenticateDeps, client: Client, username: string | undefined, reason: AuthFailureReason, done: Parameters<AuthenticateHandler>[3]): void {
  deps.metrics.authFailures.inc({ reason });
  deps.logger.warn({ stationId: username, clientId: client.id, reason }, 'MQTT connect refused');
  const returnCode = RETURN_CODE[reason] as AuthErrorCode;
  done(Object.assign(new Error(`connect refused: ${reason}`), { returnCode }), false);
}

/** Constant-time comparison; hashing first makes the lengths equal so the length does not leak either. */
function sameSecret(given: Buffer, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

import { createHash, timingSafeEqual } from 'node:crypto';
import type { AedesOptions, AuthErrorCode, Client } from 'aedes';
import type { Logger } from 'pino';
import { type IntegrationAuthenticator, isStationId, type StationAuthenticator } from '../contracts/index.js';
import type { AuthLockout } from './auth-lockout.js';
import type { Identities } from './identity.js';
import type { AuthFailureReason, GatewayMetrics } from './metrics.js';
import { remoteAddressOf } from './remote-address.js';

export type AuthenticateHandler = NonNullable<AedesOptions['authenticate']>;

export interface ServiceAccount {
  username: string;
  password: string;
}

export interface AuthenticateDeps {
  authenticator: StationAuthenticator;
  /** Integration accounts (`<kind>:<name>`, e.g. a ChirpStack's); absent: none can log in. */
  integrations?: IntegrationAuthenticator | undefined;
  serviceAccount?: ServiceAccount | undefined;
  identities: Identities;
  lockout: AuthLockout;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Called for a peer the moment it is authenticated, before aedes writes its CONNACK. */
  onAuthenticated?: (client: Client) => void;
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
  revoked: NOT_AUTHORIZED,
  locked_out: NOT_AUTHORIZED,
  // The registry is unreachable: "server unavailable" tells the station to retry, not that it is banned.
  authenticator_error: SERVER_UNAVAILABLE,
};

/** aedes `authenticate`: username = station id, password = its token; or the server's service account. */
export function createAuthenticate(deps: AuthenticateDeps): AuthenticateHandler {
  return (client, username, password, done) => {
    identify(deps, username, password, remoteAddressOf(client)).then(
      (outcome) => {
        if (outcome.ok) {
          deps.identities.set(client, outcome.identity);
          deps.onAuthenticated?.(client);
          done(null, true);
          return;
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

async function identify(
  deps: AuthenticateDeps,
  username: string | undefined,
  password: Buffer | undefined,
  address: string,
): Promise<Outcome> {
  if (username === undefined || password === undefined) return { ok: false, reason: 'missing_credentials' };
  const service = deps.serviceAccount;
  if (service && username === service.username) return identifyService(deps, service, password, address);
  // A colon never appears in a station id: `chirpstack:lac-duong` is an integration account.
  if (username.includes(':')) return identifyIntegration(deps, username, password, address);
  if (!isStationId(username)) return { ok: false, reason: 'bad_station_id' };
  const { lockout } = deps;
  const station: Outcome = { ok: true, identity: { kind: 'station', stationId: username } };
  // A token already verified since start (the honest station's) gets in, locked out or not, with no scrypt and no
  // question to a cluster's shared count: a fleet reconnecting costs no database round trip. That exception costs
  // nothing in strength: station tokens are 256 random bits, so guessing one is hopeless anyway.
  if (deps.authenticator.verifyCached?.(username, password) === 'ok') {
    lockout.recordSuccess(username, address);
    return station;
  }
  if (await lockout.check(username, address)) {
    // No token check while locked out.
    lockout.refusedWhileLocked();
    return { ok: false, reason: 'locked_out' };
  }
  const check = await deps.authenticator.verify(username, password);
  if (check === 'bad_token') await lockout.fail(username, address);
  if (check !== 'ok') return { ok: false, reason: check };
  await lockout.succeed(username, address);
  return station;
}

/**
 * The service account's password is the admin token, which an operator may choose (16 characters at least):
 * the same lockout keeps MQTT from being a fast oracle for it. No exception while locked: the check is cheap,
 * so an exception would let a guesser go on at full speed.
 */
async function identifyService(deps: AuthenticateDeps, service: ServiceAccount, password: Buffer, address: string): Promise<Outcome> {
  const { lockout } = deps;
  if (await lockout.check(service.username, address)) {
    lockout.refusedWhileLocked();
    return { ok: false, reason: 'locked_out' };
  }
  if (!sameSecret(password, service.password)) {
    await lockout.fail(service.username, address);
    return { ok: false, reason: 'bad_token' };
  }
  await lockout.succeed(service.username, address);
  return { ok: true, identity: { kind: 'service' } };
}

/** An integration's password is machine-made (256 bits) and hashed like a station token; the same lockout applies. */
async function identifyIntegration(deps: AuthenticateDeps, username: string, password: Buffer, address: string): Promise<Outcome> {
  const { lockout } = deps;
  if (await lockout.check(username, address)) {
    lockout.refusedWhileLocked();
    return { ok: false, reason: 'locked_out' };
  }
  const kind = (await deps.integrations?.verify(username, password)) ?? null;
  if (kind === null) {
    await lockout.fail(username, address);
    return { ok: false, reason: 'bad_token' };
  }
  await lockout.succeed(username, address);
  return { ok: true, identity: { kind: 'integration', integration: kind, username } };
}

function refuse(
  deps: AuthenticateDeps,
  client: Client,
  username: string | undefined,
  reason: AuthFailureReason,
  done: Parameters<AuthenticateHandler>[3],
): void {
  deps.metrics.authFailures.inc({ reason });
  // A locked-out pair was logged once when the lockout began; a line per attempt would let a guesser flood the log.
  const level = reason === 'locked_out' ? 'debug' : 'warn';
  deps.logger[level]({ stationId: username, clientId: client.id, reason }, 'MQTT connect refused');
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- aedes' AuthErrorCode is an ambient const enum, absent at runtime: the codes are the spec's numbers
  const returnCode = RETURN_CODE[reason] as AuthErrorCode;
  done(Object.assign(new Error(`connect refused: ${reason}`), { returnCode }), false);
}

/** Constant-time comparison; hashing first makes the lengths equal so the length does not leak either. */
function sameSecret(given: Buffer, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

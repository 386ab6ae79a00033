import { type EventEmitter, once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes, type Client } from 'aedes';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  type Clock,
  type CredentialChanges,
  type DeviceDirectory,
  type IngestSink,
  type IntegrationAuthenticator,
  type RefusalTally,
  type PayloadLimits,
  type StationAuthenticator,
  DEFAULT_PAYLOAD_LIMITS,
} from '../contracts/index.js';
import { AuthLockout, DEFAULT_LOCKOUT, type LockoutPolicy, type SharedLockout } from './auth-lockout.js';
import { type ServiceAccount, createAuthenticate } from './authenticate.js';
import { createAuthorizePublish, forwardUnlessRejected } from './authorize-publish.js';
import { createAuthorizeSubscribe } from './authorize-subscribe.js';
import { createConnectionLimiter } from './connection-limits.js';
import { ConsumerRelay, DEFAULT_RELAY_TIMEOUT_MS } from './consumer-relay.js';
import { dropOnCredentialChange } from './credential-drop.js';
import { Identities } from './identity.js';
import { createLimitLog } from './limit-log.js';
import { DEFAULT_GATEWAY_LIMITS, type GatewayLimits } from './limits.js';
import { createGatewayMetrics } from './metrics.js';
import { guardPacketSize } from './packet-size-guard.js';
import { limitPublishRate } from './publish-rate.js';
import { createRejectLog } from './reject-log.js';
import { SourceMemory } from './sources/memory.js';
import { readProxyHeader } from './proxy-protocol.js';
import { setProxiedAddress } from './remote-address.js';
import { createTcpServer } from './tcp.js';
import { closeOnIllFormedTopic } from './topic-guard.js';
import { type TlsCredentials, createTlsServer } from './tls.js';
import { type WebSocketTransport, createWebSocketServer } from './websocket.js';

export type { ServiceAccount } from './authenticate.js';

export interface GatewayOptions {
  authenticator: StationAuthenticator;
  /** Whose device a message is: lets stations of other sources (Tasmota, ESPHome, Shelly, ChirpStack) publish. */
  devices?: DeviceDirectory;
  /** Integration accounts (a ChirpStack's MQTT integration); absent: none can log in. */
  integrations?: IntegrationAuthenticator;
  /** Where each station's refusals are tallied, to be shown beside it; absent: metric and log only. */
  refusals?: RefusalTally;
  /** What the decoders of other sources remember (dedupe ids, ChirpStack applications); default a fresh one. */
  memory?: SourceMemory;
  /** In-process ingest; PUBACK waits for it. Absent → validate and forward only (gateway run alone). */
  sink?: IngestSink;
  logger: Logger;
  metrics: Registry;
  clock: Clock;
  limits?: PayloadLimits;
  /** The server's account when it consumes from this broker over MQTT (`frostwatch server` apart). */
  serviceAccount?: ServiceAccount;
  /**
   * Largest MQTT packet accepted on the wire; a bigger one closes the connection before it is buffered.
   * Default 2 × limits.maxBytes: payloads up to that are acknowledged and refused as `too_large`.
   */
  maxPacketBytes?: number;
  /** Gateway run alone: how long a station's PUBACK may wait for the server's; default DEFAULT_RELAY_TIMEOUT_MS. */
  relayTimeoutMs?: number;
  /** Certificate and key: also serve MQTT over TLS (ListenOptions.mqttTlsPort), and wss instead of ws. */
  tls?: TlsCredentials;
  /** Revocations and rotations of station tokens; a station's open connections are closed on each. */
  credentialChanges?: CredentialChanges;
  /** Lockout after repeated wrong tokens per (station, address); default DEFAULT_LOCKOUT. */
  lockout?: LockoutPolicy;
  /**
   * The plain MQTT port sits behind a TCP balancer that opens every connection with a PROXY protocol header (v1 or v2)
   * naming the station's address (`MQTT_PROXY_PROTOCOL=on`); a connection without one is closed. Default off.
   */
  proxyProtocol?: boolean;
  /** A cluster's gateways count wrong tokens together (server/cluster/pg-auth-lockout.ts); absent: this process alone. */
  sharedLockout?: SharedLockout;
  /** Connection and per-station publish limits; each one not given is DEFAULT_GATEWAY_LIMITS' (gateway/limits.ts). */
  trafficLimits?: Partial<GatewayLimits>;
}

export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  mqttPort: number;
  /** MQTT over WebSocket; 0 picks a free port. */
  wsPort: number;
  /** MQTT over TLS, when the gateway has `tls`; 0 picks a free port. */
  mqttTlsPort?: number;
  /** Interface of plain MQTT alone (e.g. loopback while TLS faces the network); default `host`. */
  mqttHost?: string;
}

/** The listeners as the environment asks for them (`frostwatch up` and `frostwatch gateway` alike). */
export function listenOptionsFromEnv(env: {
  HOST: string;
  MQTT_PORT: number;
  MQTT_WS_PORT: number;
  MQTT_TLS_PORT: number;
  MQTT_HOST?: string | undefined;
}): ListenOptions {
  return {
    host: env.HOST,
    mqttPort: env.MQTT_PORT,
    wsPort: env.MQTT_WS_PORT,
    mqttTlsPort: env.MQTT_TLS_PORT,
    ...(env.MQTT_HOST ? { mqttHost: env.MQTT_HOST } : {}),
  };
}

export interface BoundPorts {
  mqttPort: number;
  wsPort: number;
  /** null without TLS. */
  mqttTlsPort: number | null;
}

export interface Gateway {
  readonly broker: Aedes;
  /** Resolves with the ports actually bound. */
  listen(options: ListenOptions): Promise<BoundPorts>;
  /** Stops accepting, closes every client (wills fire), then the broker. Safe to call twice. */
  close(): Promise<void>;
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { logger, clock } = options;
  const limits = options.limits ?? DEFAULT_PAYLOAD_LIMITS;
  const maxPacketBytes = options.maxPacketBytes ?? 2 * limits.maxBytes;
  const identities = new Identities();
  const stations = new Set<Client>();
  const metrics = createGatewayMetrics(options.metrics, () => stations.size);
  const rejects = createRejectLog(metrics.rejected, logger, clock, options.refusals);
  const traffic = { ...DEFAULT_GATEWAY_LIMITS, ...options.trafficLimits };
  const limitLog = createLimitLog(logger);
  const connectionLimiter = createConnectionLimiter(traffic, metrics.connectionsRefused, limitLog);
  // Run alone (no in-process sink), a reading is acknowledged only once the server consuming from us has it.
  const relay =
    options.sink === undefined && options.serviceAccount !== undefined
      ? new ConsumerRelay({
          isConsumer: (c) => identities.get(c)?.kind === 'service',
          timeoutMs: options.relayTimeoutMs ?? DEFAULT_RELAY_TIMEOUT_MS,
          logger,
        })
      : undefined;
  const publishRate = limitPublishRate(
    closeOnIllFormedTopic(
      createAuthorizePublish({
        identities,
        sink: options.sink,
        relay,
        rejects,
        metrics,
        clock,
        limits,
        logger,
        devices: options.devices,
        memory: options.memory ?? new SourceMemory(),
      }),
    ),
    {
      limits: traffic,
      speed: clock.speed,
      identities,
      throttled: metrics.publishesThrottled,
      log: limitLog,
    },
  );
  const lockout = new AuthLockout(options.lockout ?? DEFAULT_LOCKOUT, clock, logger, options.metrics, options.sharedLockout);
  const broker = await Aedes.createBroker({
    authenticate: createAuthenticate({
      authenticator: options.authenticator,
      integrations: options.integrations,
      serviceAccount: options.serviceAccount,
      identities,
      lockout,
      metrics,
      logger,
      // Its half-open slot is freed before the CONNACK is written, not at aedes' 'clientReady' (after the CONNACK and
      // the session's queue): a fleet behind one address that opens its next connection on each CONNACK would
      // otherwise race the release and be refused (seen as 64 bench stations refused one by one at 10,000).
      onAuthenticated: (client) => connectionLimiter.connected(client.conn),
    }),
    authorizePublish: publishRate.authorizePublish,
    authorizeSubscribe: createAuthorizeSubscribe(identities, logger, options.devices),
    authorizeForward: forwardUnlessRejected,
    // A backstop only: connection-limits.ts closes a peer without CONNACK after connectTimeoutMs already.
    connectTimeout: traffic.connectTimeoutMs + 1_000,
  });
  relay?.attach(broker);
  trackStations(broker, identities, stations, logger);
  const unsubscribe = options.credentialChanges
    ? dropOnCredentialChange(broker, identities, options.credentialChanges, logger, options.metrics)
    : () => undefined;

  const connections = new Set<Duplex>();
  // A connection refused by a limit is destroyed at once: no aedes client (parser, timers) is made for it.
  // A WebSocket stream has no address of its own: its peer is the upgraded HTTP request's socket.
  const handle = (conn: Duplex, req?: IncomingMessage, proxied?: string): void => {
    const remoteAddress = proxied ?? (conn as Partial<Socket>).remoteAddress ?? req?.socket.remoteAddress;
    if (conn.destroyed || !connectionLimiter.admit(conn, remoteAddress)) return;
    connections.add(conn);
    conn.once('close', () => connections.delete(conn));
    const client = broker.handle(conn, req);
    guardPacketSize(client, maxPacketBytes, (bytes) => {
      rejects.reject(identities.stationOf(client), 'too_large');
      logger.warn({ clientId: client.id, announcedBytes: bytes, maxPacketBytes }, 'oversized MQTT packet; connection closed');
    });
  };
  // Behind a balancer speaking the PROXY protocol, the station's address comes first, then MQTT; limits, lockouts and
  // logs see the station. A connection that does not start so is closed at once: no balancer of ours sent it.
  const tcp = createTcpServer(
    options.proxyProtocol === true
      ? (conn) => {
          readProxyHeader(conn, traffic.connectTimeoutMs).then(
            (address) => {
              setProxiedAddress(conn, address);
              handle(conn, undefined, address);
            },
            (err: unknown) => {
              metrics.connectionsRefused.inc({ reason: 'proxy_header' });
              logger.debug({ err: err instanceof Error ? err.message : String(err) }, 'MQTT connection without a PROXY header closed');
              conn.destroy();
            },
          );
        }
      : handle,
  );
  const ws = createWebSocketServer(handle, maxPacketBytes + 5, options.tls);
  const tls = options.tls ? createTlsServer(options.tls, handle) : null;
  tls?.on('tlsClientError', (err: Error) => logger.debug({ err: err.message }, 'MQTT TLS handshake failed'));

  let closing: Promise<void> | null = null;
  return {
    broker,
    listen: (listenOptions) => listenAll({ tcp, ws, tls }, listenOptions, logger),
    close: () => {
      unsubscribe();
      connectionLimiter.close();
      publishRate.close();
      return (closing ??= closeAll({ broker, tcp, ws, tls, connections, logger }));
    },
  };
}

function trackStations(broker: Aedes, identities: Identities, stations: Set<Client>, logger: Logger): void {
  broker.on('clientReady', (client) => {
    if (identities.get(client)?.kind === 'station') stations.add(client);
  });
  broker.on('clientDisconnect', (client) => stations.delete(client));
  broker.on('clientError', (client, err) => logger.debug({ clientId: client.id, err: err.message }, 'MQTT client error'));
  // aedes reports persistence failures as 'error'; unhandled, that event would kill the process.
  (broker as EventEmitter).on('error', (err: Error) => logger.error({ err }, 'MQTT broker error'));
}

async function listenAll(
  servers: { tcp: Server; ws: WebSocketTransport; tls: Server | null },
  options: ListenOptions,
  logger: Logger,
): Promise<BoundPorts> {
  const mqttHost = options.mqttHost ?? options.host;
  const mqttPort = await listenOn(servers.tcp, mqttHost, options.mqttPort);
  const wsPort = await listenOn(servers.ws.http, options.host, options.wsPort);
  const mqttTlsPort = servers.tls ? await listenOn(servers.tls, options.host, options.mqttTlsPort ?? 8883) : null;
  logger.info({ host: options.host, mqttHost, mqttPort, wsPort, mqttTlsPort }, 'MQTT gateway listening');
  return { mqttPort, wsPort, mqttTlsPort };
}

/**
 * Node's default accept backlog is 511: in a connect flood or a reconnect storm the rest wait in the kernel,
 * half-open and out of reach of any limit or timeout of ours. Linux caps this at net.core.somaxconn.
 */
const LISTEN_BACKLOG = 4_096;

async function listenOn(server: Server, host: string, port: number): Promise<number> {
  server.listen({ port, host, backlog: LISTEN_BACKLOG });
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return address.port;
}

interface Parts {
  broker: Aedes;
  tcp: Server;
  tls: Server | null;
  ws: WebSocketTransport;
  connections: Set<Duplex>;
  logger: Logger;
}

/** In the order data flows: stop accepting, close clients and broker, then drop whatever never connected. */
async function closeAll({ broker, tcp, ws, tls, connections, logger }: Parts): Promise<void> {
  const serversClosed = [closeServer(tcp), closeServer(ws.http), ...(tls ? [closeServer(tls)] : [])];
  ws.wss.close();
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  // Connections that never sent CONNECT are not aedes clients; they would hold the servers open.
  for (const conn of connections) conn.destroy();
  for (const client of ws.wss.clients) client.terminate();
  ws.http.closeAllConnections();
  const results = await Promise.allSettled(serversClosed);
  for (const result of results) if (result.status === 'rejected') logger.warn({ err: result.reason as Error }, 'closing a listener failed');
  logger.info('MQTT gateway closed');
}

function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}

import { type EventEmitter, once } from 'node:events';
import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes, type Client } from 'aedes';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  type Clock,
  type IngestSink,
  type PayloadLimits,
  type StationAuthenticator,
  DEFAULT_PAYLOAD_LIMITS,
} from '../contracts/index.js';
import { type ServiceAccount, createAuthenticate } from './authenticate.js';
import { createAuthorizePublish, forwardUnlessRejected } from './authorize-publish.js';
import { createAuthorizeSubscribe } from './authorize-subscribe.js';
import { Identities } from './identity.js';
import { createGatewayMetrics } from './metrics.js';
import { guardPacketSize } from './packet-size-guard.js';
import { createRejectLog } from './reject-log.js';
import { createTcpServer } from './tcp.js';
import { type WebSocketTransport, createWebSocketServer } from './websocket.js';

export type { ServiceAccount } from './authenticate.js';

export interface GatewayOptions {
  authenticator: StationAuthenticator;
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
}

export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  mqttPort: number;
  /** MQTT over WebSocket; 0 picks a free port. */
  wsPort: number;
}

export interface Gateway {
  readonly broker: Aedes;
  /** Resolves with the ports actually bound. */
  listen(options: ListenOptions): Promise<{ mqttPort: number; wsPort: number }>;
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
  const rejects = createRejectLog(metrics.rejected, logger, clock);
  const broker = await Aedes.createBroker({
    authenticate: createAuthenticate({ authenticator: options.authenticator, serviceAccount: options.serviceAccount, identities, metrics, logger }),
    authorizePublish: createAuthorizePublish({ identities, sink: options.sink, rejects, metrics, clock, limits, logger }),
    authorizeSubscribe: createAuthorizeSubscribe(identities, logger),
    authorizeForward: forwardUnlessRejected,
  });
  trackStations(broker, identities, stations, logger);

  const connections = new Set<Duplex>();
  const wrap = (conn: Duplex): Duplex => {
    const guarded = guardPacketSize(conn, maxPacketBytes, (g, bytes) => {
      const client = (g as Duplex & { client?: Client }).client;
      rejects.reject(identities.stationOf(client), 'too_large');
      logger.warn({ clientId: client?.id, announcedBytes: bytes, maxPacketBytes }, 'oversized MQTT packet; connection closed');
    });
    connections.add(guarded);
    guarded.once('close', () => connections.delete(guarded));
    return guarded;
  };
  const tcp = createTcpServer((conn) => broker.handle(conn), wrap);
  const ws = createWebSocketServer((conn, req) => broker.handle(conn, req), wrap, maxPacketBytes + 5);

  let closing: Promise<void> | null = null;
  return {
    broker,
    listen: (listenOptions) => listenBoth(tcp, ws, listenOptions, logger),
    close: () => (closing ??= closeAll({ broker, tcp, ws, connections, logger })),
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

async function listenBoth(tcp: Server, ws: WebSocketTransport, options: ListenOptions, logger: Logger): Promise<{ mqttPort: number; wsPort: number }> {
  const mqttPort = await listenOn(tcp, options.host, options.mqttPort);
  const wsPort = await listenOn(ws.http, options.host, options.wsPort);
  logger.info({ host: options.host, mqttPort, wsPort }, 'MQTT gateway listening');
  return { mqttPort, wsPort };
}

async function listenOn(server: Server, host: string, port: number): Promise<number> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return address.port;
}

interface Parts {
  broker: Aedes;
  tcp: Server;
  ws: WebSocketTransport;
  connections: Set<Duplex>;
  logger: Logger;
}

/** In the order data flows: stop accepting, close clients and broker, then drop whatever never connected. */
async function closeAll({ broker, tcp, ws, connections, logger }: Parts): Promise<void> {
  const serversClosed = [closeServer(tcp), closeServer(ws.http)];
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

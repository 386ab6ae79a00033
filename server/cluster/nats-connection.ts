import { type NatsConnection, type Status, connect } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { backoffMs } from '../notify/pacing.js';

export interface ReadingsLogConnectionOptions {
  /** `NATS_URL`: `nats://` or `tls://` URLs separated by commas, any servers of the cluster (it tells of the rest). */
  urls: string;
  /** Shown by the servers (`/connz`): which process this is. */
  name: string;
  logger: Logger;
  /** CA certificate (PEM file) of `tls://` servers signed by a private CA. */
  caFile?: string;
}

/**
 * The servers and whether TLS is required. The NATS client ignores a URL's scheme (it keeps host and port only), and
 * upgrades to TLS only when a server offers it: a `tls://` URL alone would let a server without TLS — or someone
 * posing as one — take the connection in plain text. Any `tls://` URL therefore requires TLS of every server.
 */
export function natsServers(urls: string): { servers: string[]; tls: boolean } {
  const servers = urls
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  if (servers.length === 0) throw new Error('NATS_URL names no server');
  return { servers, tls: servers.some((url) => url.startsWith('tls://')) };
}

/**
 * A connection to the readings log's cluster for a gateway or a worker: reconnects forever (to any server of the
 * cluster; JetStream requests made meanwhile time out and are the caller's to retry), requires TLS when asked to, and
 * logs losing and regaining its server. Rejects when no server answers at start, so a service manager restarts us.
 */
export async function connectReadingsLog(opts: ReadingsLogConnectionOptions): Promise<NatsConnection> {
  const { servers, tls } = natsServers(opts.urls);
  const nc = await connect({
    servers,
    name: opts.name,
    maxReconnectAttempts: -1,
    ...(tls ? { tls: opts.caFile === undefined ? {} : { caFile: opts.caFile } } : {}),
  });
  opts.logger.info({ server: nc.info?.server_name, servers: servers.length }, 'connected to the readings log');
  void logStatus(nc, opts.logger);
  return nc;
}

async function logStatus(nc: NatsConnection, logger: Logger): Promise<void> {
  for await (const status of nc.status()) logOne(status, logger);
}

function logOne(status: Status, logger: Logger): void {
  switch (status.type) {
    case 'disconnect':
      logger.warn({ server: status.server }, 'readings log: lost its NATS server; reconnecting to another');
      return;
    case 'reconnect':
      logger.info({ server: status.server }, 'readings log: reconnected');
      return;
    case 'ldm':
      logger.warn({ server: status.server }, 'readings log: NATS server entering lame duck mode; moving');
      return;
    case 'error':
      logger.error({ err: status.error }, 'readings log: NATS server error');
      return;
    case 'staleConnection':
    case 'slowConsumer':
      logger.warn({ status: status.type }, 'readings log: connection trouble');
      return;
    default:
      return;
  }
}

/** An answer from JetStream that asking again will not change (a stream made for another number of partitions). */
export class JetStreamSetupRefused extends Error {
  override readonly name = 'JetStreamSetupRefused';
}

/**
 * Runs one of JetStream's start-up requests (the readings stream, the config bucket) until it is answered, for up to
 * `deadlineMs`, waiting 0.2–0.4 s doubling to 1.5–3 s between tries (`backoffMs`), each logged. A cluster that has just started, or several
 * gateways and workers creating the same stream at once, leaves some requests unanswered — nats-server answers one
 * creator and can let the others time out — and a process that then exits only waits for its service manager.
 * `JetStreamSetupRefused` is thrown at once; anything else after the deadline.
 */
export async function untilJetStreamAnswers<T>(
  what: string,
  attempt: () => Promise<T>,
  opts: { logger: Logger; deadlineMs?: number },
): Promise<T> {
  const deadline = Date.now() + (opts.deadlineMs ?? 60_000);
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      // Jittered, so processes that collided once do not ask again in step.
      const wait = backoffMs(tries, { baseMs: 400, maxMs: 3_000 }, Math.random);
      if (err instanceof JetStreamSetupRefused || Date.now() + wait > deadline) throw err;
      opts.logger.warn({ err, tries, retryInMs: wait }, `readings log: ${what} not answered yet; asking again`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

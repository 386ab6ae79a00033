import { type Server, type Socket, connect, createServer, isIPv4 } from 'node:net';
import {
  INETProtocol,
  IPv4Address,
  IPv4ProxyAddress,
  Peer,
  TransportProtocol,
  V1ProxyProtocol,
  V2ProxyProtocol,
  Command,
} from 'proxy-protocol-js';

/**
 * A TCP load balancer on loopback, as a province puts one in front of its gateways and its HTTP servers
 * (docs/scale-out.md): each new connection goes to the next backend in turn; a backend that refuses the connection
 * (dead) is skipped for the next one, so clients of a killed gateway reconnect to a live one. It forwards bytes only:
 * MQTT, TLS and HTTP pass through untouched — after, with `proxyProtocol`, the PROXY header HAProxy's `send-proxy`
 * (v1) or `send-proxy-v2` (v2) writes first, naming the client's address.
 */
export interface TcpBalancer {
  readonly port: number;
  /** Connections currently forwarded, per backend port. */
  connections(): Map<number, number>;
  close(): Promise<void>;
}

export async function startTcpBalancer(
  backends: readonly number[],
  host = '127.0.0.1',
  options: { proxyProtocol?: 'v1' | 'v2' } = {},
): Promise<TcpBalancer> {
  if (backends.length === 0) throw new Error('a balancer needs at least one backend');
  let next = 0;
  const open = new Set<Socket>();
  const perBackend = new Map<number, number>();
  const track = (socket: Socket): void => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  };

  /** Connect to the backends in turn from `next`, skipping the ones that refuse; null when none answers. */
  const dial = async (): Promise<{ upstream: Socket; port: number } | null> => {
    for (let tried = 0; tried < backends.length; tried++) {
      const port = backends[next % backends.length] as number;
      next++;
      const upstream = await new Promise<Socket | null>((resolve) => {
        const socket = connect({ host, port });
        socket.once('connect', () => resolve(socket));
        socket.once('error', () => {
          socket.destroy();
          resolve(null);
        });
      });
      if (upstream) return { upstream, port };
    }
    return null;
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    client.on('error', () => client.destroy());
    void dial().then((dialled) => {
      if (!dialled || client.destroyed) {
        client.destroy();
        dialled?.upstream.destroy();
        return;
      }
      const { upstream, port } = dialled;
      track(upstream);
      perBackend.set(port, (perBackend.get(port) ?? 0) + 1);
      upstream.once('close', () => perBackend.set(port, (perBackend.get(port) ?? 1) - 1));
      // Either side ending or failing ends both, as a dead backend's TCP connections do.
      upstream.on('error', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
      client.once('close', () => upstream.destroy());
      if (options.proxyProtocol) upstream.write(proxyHeader(options.proxyProtocol, client));
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the balancer did not bind a TCP port');
  return {
    port: address.port,
    connections: () => new Map(perBackend),
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The PROXY header for `client`'s connection (IPv4 loopback: the balancer's own listener). */
function proxyHeader(version: 'v1' | 'v2', client: Socket): Buffer {
  const source = (client.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  const destination = (client.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  if (!isIPv4(source) || !isIPv4(destination)) throw new Error(`the test balancer speaks PROXY for IPv4 only, not ${source}`);
  const [sourcePort, destinationPort] = [client.remotePort ?? 0, client.localPort ?? 0];
  if (version === 'v1') {
    const line = new V1ProxyProtocol(INETProtocol.TCP4, new Peer(source, sourcePort), new Peer(destination, destinationPort)).build();
    return Buffer.from(line, 'latin1');
  }
  const octets = (ip: string): number[] => ip.split('.').map(Number);
  const address = new IPv4ProxyAddress(
    IPv4Address.createFrom(octets(source)),
    sourcePort,
    IPv4Address.createFrom(octets(destination)),
    destinationPort,
  );
  return Buffer.from(new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, address).build());
}

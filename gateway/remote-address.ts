import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Client } from 'aedes';

/**
 * The peer address of an MQTT connection. aedes sees our wrapped stream (the packet size guard), which has
 * no address of its own, so the gateway tags each wrapper with the socket's address as it accepts it.
 * Behind a TCP proxy or load balancer this is the proxy's address.
 */
const addresses = new WeakMap<Duplex, string>();

export function tagRemoteAddress(wrapped: Duplex, inner: Duplex): void {
  const address = (inner as Partial<Socket>).remoteAddress;
  if (address !== undefined) addresses.set(wrapped, address);
}

export function remoteAddressOf(client: Client): string {
  const fromRequest = client.req?.socket.remoteAddress;
  if (fromRequest !== undefined) return fromRequest;
  const conn = client.conn as unknown as Duplex;
  return addresses.get(conn) ?? (conn as Partial<Socket>).remoteAddress ?? 'unknown';
}

/** For logs: the last IPv4 octet, or the IPv6 interface part, is hidden. */
export function maskAddress(address: string): string {
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+)\.\d+$/.exec(address);
  if (v4) return `${v4[1]}.x`;
  if (address.includes(':')) return `${address.split(':').slice(0, 3).join(':')}:…`;
  return address;
}

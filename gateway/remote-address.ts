import type { Socket } from 'node:net';
import type { Client } from 'aedes';

/**
 * The peer address of an MQTT connection: the HTTP request's socket for MQTT over WebSocket, else the TCP or
 * TLS socket aedes reads itself. Behind a TCP proxy or load balancer this is the proxy's address.
 */
export function remoteAddressOf(client: Client): string {
  const fromRequest = client.req?.socket.remoteAddress;
  if (fromRequest !== undefined) return fromRequest;
  return (client.conn as Partial<Socket>).remoteAddress ?? 'unknown';
}

/** For logs: the last IPv4 octet, or the IPv6 interface part, is hidden. */
export function maskAddress(address: string): string {
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+)\.\d+$/.exec(address);
  if (v4) return `${v4[1]}.x`;
  if (address.includes(':')) return `${address.split(':').slice(0, 3).join(':')}:…`;
  return address;
}

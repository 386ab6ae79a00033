import type { Socket } from 'node:net';
import type { Client } from 'aedes';

/** Connections whose PROXY header named the station's address (gateway/proxy-protocol.ts). */
const PROXIED = new WeakMap<object, string>();

/** The station's own address, as the balancer's PROXY header named it. */
export function setProxiedAddress(conn: object, address: string): void {
  PROXIED.set(conn, address);
}

/**
 * The peer address of an MQTT connection: the address a balancer's PROXY header named, where the gateway reads them
 * (`MQTT_PROXY_PROTOCOL`); else the HTTP request's socket for MQTT over WebSocket, or the TCP or TLS socket aedes
 * reads itself. Behind a TCP proxy or load balancer without the PROXY protocol this is the proxy's address.
 */
export function remoteAddressOf(client: Client): string {
  const proxied = PROXIED.get(client.conn);
  if (proxied !== undefined) return proxied;
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

import { createServer, type Server, type Socket } from 'node:net';

/** Hands each accepted socket to `handle` (limits, the broker, the packet size guard). */
export function createTcpServer(handle: (conn: Socket) => void): Server {
  return createServer((socket: Socket) => {
    // Nagle holds the small PUBACK back until the peer's delayed ACK: ~40 ms on every QoS 1 round trip.
    socket.setNoDelay(true);
    handle(socket);
  });
}

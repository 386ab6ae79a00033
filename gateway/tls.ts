import type { Duplex } from 'node:stream';
import { createServer, type Server, type TLSSocket } from 'node:tls';

/** Certificate chain and private key (PEM), read from TLS_CERT_FILE and TLS_KEY_FILE. */
export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
}

/** A client that opens TCP and never finishes the handshake holds a socket; Node's default waits 120 s. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** MQTT over TLS (port 8883): like tcp.ts, once the handshake is done. */
export function createTlsServer(credentials: TlsCredentials, handle: (conn: Duplex) => void): Server {
  return createServer({ ...credentials, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, minVersion: 'TLSv1.2' }, (socket: TLSSocket) => {
    // Nagle holds the small PUBACK back until the peer's delayed ACK: ~40 ms on every QoS 1 round trip.
    socket.setNoDelay(true);
    handle(socket);
  });
}

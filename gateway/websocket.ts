import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { TlsCredentials } from './tls.js';

export interface WebSocketTransport {
  http: Server;
  wss: WebSocketServer;
}

/**
 * MQTT over WebSocket (binary frames, subprotocol "mqtt"). `maxPayload` makes ws refuse an oversized frame
 * itself, since it buffers a whole message before our packet guard would see it. With `tls` it serves wss.
 */
export function createWebSocketServer(
  handle: (conn: Duplex, req: IncomingMessage) => void,
  maxPayload: number,
  tls?: TlsCredentials,
): WebSocketTransport {
  const refuse: RequestListener = (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
  };
  // An https.Server is an http.Server over TLS sockets; the cast only bridges @types/node's separate class trees.
  const http = tls ? (createHttpsServer({ ...tls, minVersion: 'TLSv1.2' }, refuse) as unknown as Server) : createServer(refuse);
  const wss = new WebSocketServer({ server: http, maxPayload });
  wss.on('connection', (ws, req) => {
    req.socket.setNoDelay(true);
    handle(createWebSocketStream(ws), req);
  });
  return { http, wss };
}

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';

export interface WebSocketTransport {
  http: Server;
  wss: WebSocketServer;
}

/**
 * MQTT over WebSocket (binary frames, subprotocol "mqtt"). `maxPayload` makes ws refuse an oversized frame
 * itself, since it buffers a whole message before our packet guard would see it.
 */
export function createWebSocketServer(handle: (conn: Duplex, req: IncomingMessage) => void, wrap: (stream: Duplex) => Duplex, maxPayload: number): WebSocketTransport {
  const http = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
  });
  const wss = new WebSocketServer({ server: http, maxPayload });
  wss.on('connection', (ws, req) => {
    (req.socket as Socket).setNoDelay(true);
    handle(wrap(createWebSocketStream(ws)), req);
  });
  return { http, wss };
}

import { createServer } from 'node:net';

/**
 * A TCP port free on 127.0.0.1 right now, for programs (like influxd) that cannot listen on port 0
 * and report back. Another process may take it before it is used; callers starting a server retry.
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

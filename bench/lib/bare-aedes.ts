import { once } from 'node:events';
import { type Server, type Socket, createServer } from 'node:net';
import { Aedes } from 'aedes';

export interface BareAedes {
  url: string;
  close(): Promise<void>;
}

/** A plain Aedes with no hooks at all (no auth, no validation, no sink): the broker's own ceiling. */
export async function startBareAedes(): Promise<BareAedes> {
  const broker = new Aedes();
  await broker.listen();
  const sockets = new Set<Socket>();
  const server: Server = createServer((conn) => {
    sockets.add(conn);
    conn.once('close', () => sockets.delete(conn));
    broker.handle(conn);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('bare aedes has no TCP address');
  let closing: Promise<void> | null = null;
  return {
    url: `mqtt://127.0.0.1:${address.port}`,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })()),
  };
}

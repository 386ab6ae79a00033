/**
 * A bare Aedes (no hooks, in-memory persistence) alone in a process, for the memory ceiling of measurement 4: the
 * same stations connected to it as to `frostwatch up` show what the broker itself costs per connection.
 * Prints `listening <port>` once it accepts connections; exits on SIGTERM.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const broker = new Aedes();
await broker.listen();
const server = createServer((socket) => {
  socket.setNoDelay(true);
  broker.handle(socket);
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 4_096 }, () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
process.once('SIGTERM', () => broker.close(() => server.close(() => process.exit(0))));

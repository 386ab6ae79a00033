/**
 * The background stations of measurement 3, in a process of their own (forked with IPC by backgroundLoad below):
 * a thousand mqtt.js clients publishing 2,000 readings/s cost CPU that real stations spend on their own hardware, so
 * they must not share the event loop of the system whose alert latency is measured.
 *
 * Protocol (process messages): parent → `{ kind: 'connect', … }`, child → `{ kind: 'connected', n }` as it goes and
 * `{ kind: 'ready' }`; parent → `{ kind: 'start' }`; parent → `{ kind: 'stop' }`, child → `{ kind: 'stopped', sent,
 * elapsedS }`, then it disconnects its stations and exits.
 */
import { type BenchStation, connectAll, disconnectAll, mildReading, publishReadings } from './stations.js';

export interface ConnectMessage {
  kind: 'connect';
  url: string;
  tokens: [string, string][];
  perS: number;
  /** The parent's simulated clock: `clockMs` at wall time `wallMs`, running at real speed. */
  clockMs: number;
  wallMs: number;
}

export type ParentMessage = ConnectMessage | { kind: 'start' } | { kind: 'stop' };
export type ChildMessage = { kind: 'connected'; n: number } | { kind: 'ready' } | { kind: 'stopped'; sent: number; elapsedS: number };

const send = (message: ChildMessage): void => {
  process.send?.(message);
};

let stations: BenchStation[] = [];
let perS = 0;
let now = (): number => Date.now();
let load: { timer: NodeJS.Timeout; sent(): number; elapsedS(): number } | null = null;

process.on('message', (message: ParentMessage) => {
  void handle(message).catch((err: unknown) => {
    process.stderr.write(`background load: ${String(err)}\n`);
    process.exit(1);
  });
});

async function handle(message: ParentMessage): Promise<void> {
  if (message.kind === 'connect') {
    perS = message.perS;
    now = () => message.clockMs + (Date.now() - message.wallMs);
    stations = await connectAll(message.url, new Map(message.tokens), 16, (n) => n % 50 === 0 && send({ kind: 'connected', n }));
    send({ kind: 'ready' });
  } else if (message.kind === 'start') {
    load = startBackground(stations, perS, now);
  } else {
    if (load) clearInterval(load.timer);
    send({ kind: 'stopped', sent: load?.sent() ?? 0, elapsedS: load?.elapsedS() ?? 0 });
    await disconnectAll(stations);
    process.exit(0);
  }
}

/** Every background station publishes `perS` mild readings a second; a tick every 100 ms spreads them. */
function startBackground(
  all: BenchStation[],
  rate: number,
  clock: () => number,
): { timer: NodeJS.Timeout; sent(): number; elapsedS(): number } {
  let sent = 0;
  let owed = 0;
  let cursor = 0;
  const started = performance.now();
  const perTick = (all.length * rate) / 10;
  const timer = setInterval(() => {
    owed += perTick;
    const ts = clock();
    for (; owed >= 1; owed -= 1) {
      const s = all[cursor % all.length] as BenchStation;
      cursor += 1;
      // ts + cursor offsets keep one station's readings distinct within a tick.
      void publishReadings(s, mildReading(ts + (cursor % 97), cursor)).then(
        () => (sent += 1),
        () => undefined,
      );
    }
  }, 100);
  return { timer, sent: () => sent, elapsedS: () => (performance.now() - started) / 1_000 };
}

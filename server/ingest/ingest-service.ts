import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Clock, IngestSink, Reading, StationId, StationStatus } from '../../contracts/index.js';
import type { InfluxConnection } from '../influx/connect.js';
import { readingLine, statusLine } from '../influx/line-protocol.js';
import { createForwarder } from './forwarder.js';
import type { Forwarder, ForwarderHooks } from './forwarder.js';
import { openSpool } from './spool.js';
import type { Spool } from './spool.js';

export interface IngestServiceOptions {
  /** Spool directory (e.g. DATA_DIR/spool). */
  dir: string;
  influx: InfluxConnection;
  logger: Logger;
  metrics: Registry;
  maxSpoolBytes: number;
  clock: Clock;
  /** How long close() lets the forwarder drain the spool; default 5 s. */
  drainMs?: number;
  /** Retry delay bounds for InfluxDB writes; default 0.5 s → 10 s. */
  backoff?: { minMs: number; maxMs: number };
  /** Lines per InfluxDB write; default 5,000. */
  batchLines?: number;
}

export type ReceivedReadingsListener = (stationId: StationId, readings: readonly Reading[]) => void;
export type DurableStatusListener = (stationId: StationId, status: StationStatus, receivedAtMs: number) => void;

export interface IngestCheck {
  ok: boolean;
  detail: string;
}

export interface IngestHealth {
  influx: IngestCheck;
  spool: IngestCheck;
}

export interface IngestService extends IngestSink {
  /**
   * Readings as they are accepted, while their append to the spool is still being made durable; returns an unsubscribe
   * function. The caller's acknowledgement still waits for the fdatasync, so a listener (the rule engine) runs before
   * the PUBACK, but no longer after the disk: a reading lost to a crash before its fdatasync was never acknowledged,
   * the station sends it again, and the rule engine ignores a reading it has already seen.
   */
  onReceived(listener: ReceivedReadingsListener): () => void;
  /** After each durable append of a status. */
  onDurableStatus(listener: DurableStatusListener): () => void;
  health(): IngestHealth;
  /** Opens the spool (resuming its backlog) and starts forwarding. */
  start(): Promise<void>;
  /** Stop intake, drain for a bounded time, close the spool. Idempotent. */
  close(): Promise<void>;
}

interface IngestMetrics {
  hooks: ForwarderHooks;
  readingsStored: Counter;
}

function createMetrics(registry: Registry, spool: () => Spool | null): IngestMetrics {
  const registers = [registry];
  const readingsStored = new Counter({
    name: 'frostwatch_readings_stored_total',
    help: 'Readings made durable (spooled, on their way to InfluxDB)',
    registers,
  });
  const linesWritten = new Counter({ name: 'frostwatch_influx_lines_written_total', help: 'Lines InfluxDB accepted', registers });
  const failures = new Counter({ name: 'frostwatch_influx_write_failures_total', help: 'Failed InfluxDB writes (retried)', registers });
  const rejected = new Counter({
    name: 'frostwatch_influx_rejected_lines_total',
    help: 'Lines InfluxDB refused and were skipped',
    registers,
  });
  const up = new Gauge({ name: 'frostwatch_influx_up', help: '1 when the last InfluxDB write or ping succeeded', registers });
  new Gauge({
    name: 'frostwatch_spool_backlog_bytes',
    help: 'Bytes in the spool not yet taken by InfluxDB',
    registers,
    collect() {
      this.set(spool()?.backlog().bytes ?? 0);
    },
  });
  return {
    readingsStored,
    hooks: {
      written: (lines) => linesWritten.inc(lines.length),
      failed: () => failures.inc(),
      rejected: (count) => rejected.inc(count),
      up: (isUp) => up.set(isUp ? 1 : 0),
    },
  };
}

export function createIngestService(opts: IngestServiceOptions): IngestService {
  return new SpoolingIngestService(opts);
}

class SpoolingIngestService implements IngestService {
  private readonly logger: Logger;
  private readonly metrics: IngestMetrics;
  private spool: Spool | null = null;
  private forwarder: Forwarder | null = null;
  private readonly readingListeners = new Set<ReceivedReadingsListener>();
  private readonly statusListeners = new Set<DurableStatusListener>();
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: IngestServiceOptions) {
    this.logger = opts.logger;
    this.metrics = createMetrics(opts.metrics, () => this.spool);
  }

  async start(): Promise<void> {
    if (this.spool || this.closing) throw new Error('ingest service: start() called twice or after close()');
    this.spool = await openSpool({ dir: this.opts.dir, maxBytes: this.opts.maxSpoolBytes, logger: this.logger });
    this.forwarder = createForwarder({
      spool: this.spool,
      influx: this.opts.influx,
      logger: this.logger,
      backoff: this.opts.backoff,
      batchLines: this.opts.batchLines,
      now: () => this.opts.clock.now(),
      hooks: this.metrics.hooks,
    });
    this.forwarder.start();
  }

  async acceptReadings(stationId: StationId, readings: readonly Reading[]): Promise<void> {
    if (readings.length === 0) return;
    const durable = this.intake().append(readings.map((r) => readingLine(stationId, r)));
    // Evaluated while the spool's fdatasync runs: an alert no longer waits for the disk (bench alert-latency).
    this.notify(this.readingListeners, (listener) => listener(stationId, readings));
    await durable;
    this.metrics.readingsStored.inc(readings.length);
  }

  async acceptStatus(stationId: StationId, status: StationStatus): Promise<void> {
    const receivedAtMs = Math.round(this.opts.clock.now());
    await this.intake().append([statusLine(stationId, status, receivedAtMs)]);
    this.notify(this.statusListeners, (listener) => listener(stationId, status, receivedAtMs));
  }

  private intake(): Spool {
    if (this.closing) throw new Error('ingest service is closed');
    if (!this.spool) throw new Error('ingest service not started');
    return this.spool;
  }

  /** A failing listener is logged; the data is (being made) durable all the same and the caller must still PUBACK. */
  private notify<L>(listeners: Set<L>, call: (listener: L) => void): void {
    for (const listener of listeners) {
      try {
        call(listener);
      } catch (err) {
        this.logger.error({ err }, 'durable-data listener threw');
      }
    }
  }

  onReceived(listener: ReceivedReadingsListener): () => void {
    this.readingListeners.add(listener);
    return () => this.readingListeners.delete(listener);
  }

  onDurableStatus(listener: DurableStatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  health(): IngestHealth {
    return { influx: this.influxCheck(), spool: this.spoolCheck() };
  }

  private influxCheck(): IngestCheck {
    const status = this.forwarder?.status();
    const version = this.opts.influx.version ?? 'version unknown';
    if (!status || status.up === null)
      return { ok: this.opts.influx.version !== null, detail: `${this.opts.influx.url} (${version}), no write yet` };
    if (status.up) return { ok: true, detail: `${this.opts.influx.url} (${version})` };
    const since = status.sinceMs === null ? '' : ` since ${new Date(status.sinceMs).toISOString()}`;
    return { ok: false, detail: `${this.opts.influx.url} unavailable${since}: ${status.lastError ?? 'unknown error'}` };
  }

  private spoolCheck(): IngestCheck {
    if (!this.spool) return { ok: false, detail: this.closing ? 'closed' : 'not started' };
    const { bytes, full } = this.spool.backlog();
    const detail = `${bytes} bytes waiting for InfluxDB (max ${this.opts.maxSpoolBytes})`;
    return { ok: !full, detail: full ? `full: ${detail}; acknowledgements are held` : detail };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    // Each step runs even if the one before failed: a stuck forwarder must not keep files open.
    const steps: [string, () => Promise<void> | undefined][] = [
      ['forwarder', () => this.forwarder?.stop(this.opts.drainMs ?? 5_000)],
      ['spool', () => this.spool?.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        this.logger.error({ err, step: name }, 'ingest shutdown step failed');
      }
    }
  }
}

import { HttpError } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import { describeError } from '../influx/connect.js';
import type { InfluxConnection } from '../influx/connect.js';
import type { Spool } from './spool.js';

/**
 * Moves spooled lines into InfluxDB, oldest first. A batch is retried until it is stored, so the
 * order of writes is the order of appends (a later reading with the same timestamp wins).
 */
export interface ForwarderOptions {
  spool: Spool;
  influx: InfluxConnection;
  logger: Logger;
  /** Lines per write; default 5,000. */
  batchLines?: number;
  /** Retry delay bounds; default 0.5 s → 10 s, doubling, with jitter. */
  backoff?: { minMs: number; maxMs: number };
  /**
   * A batch smaller than `batchLines` waits until this long after the previous write began, so a steady trickle of
   * readings becomes one larger write a second instead of one HTTP request, two file reads and one checkpoint per
   * handful of lines; a full batch goes at once. Default 1,000 ms: at 100 ms, 1,000 stations at one reading a minute
   * made ten writes a second, and their file and HTTP work was most of the process's CPU (BENCHMARKS.md, group 6).
   * A reading reaches InfluxDB (the charts) at most a second later; PUBACKs never wait for it (they wait for the
   * spool), nor does the rule engine (it gets each reading as it becomes durable).
   */
  lingerMs?: number;
  /** When idle, ping this often so health reflects InfluxDB without traffic; default 15 s. */
  idlePingMs?: number;
  random?: () => number;
  now?: () => number;
  hooks?: ForwarderHooks;
}

export interface ForwarderHooks {
  written?(lines: readonly string[]): void;
  failed?(err: unknown): void;
  rejected?(lines: number): void;
  up?(up: boolean): void;
}

export interface ForwarderStatus {
  /** null until the first write or ping. */
  up: boolean | null;
  sinceMs: number | null;
  lastError: string | null;
}

export interface Forwarder {
  start(): void;
  status(): ForwarderStatus;
  /** Keep forwarding until the spool is empty or `drainMs` has passed, then stop. Idempotent. */
  stop(drainMs: number): Promise<void>;
}

type Outcome = 'ok' | 'retry';
type Failure = 'bad-data' | 'missing-database' | 'transient';

/** 400/422: a line InfluxDB will never take; 413: too big, so split too. 404: 1.x lost its database. */
export function classifyWriteError(err: unknown): Failure {
  if (!(err instanceof HttpError)) return 'transient';
  if (err.statusCode === 400 || err.statusCode === 413 || err.statusCode === 422) return 'bad-data';
  if (err.statusCode === 404) return 'missing-database';
  return 'transient';
}

export function createForwarder(opts: ForwarderOptions): Forwarder {
  return new SpoolForwarder(opts);
}

class SpoolForwarder implements Forwarder {
  private readonly logger: Logger;
  private readonly hardStop = new AbortController();
  private readonly drain = new AbortController();
  private running: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private state: ForwarderStatus = { up: null, sinceMs: null, lastError: null };
  private lastWriteAt = -Infinity;

  constructor(private readonly opts: ForwarderOptions) {
    this.logger = opts.logger.child({ component: 'forwarder' });
  }

  start(): void {
    this.running ??= this.loop().catch((err: unknown) => {
      // The spool itself failed (disk): nothing more can be forwarded; health shows it.
      this.logger.error({ err }, 'forwarder stopped on a spool error');
      this.state = { ...this.state, lastError: describeError(err) };
    });
  }

  status(): ForwarderStatus {
    return { ...this.state };
  }

  private async loop(): Promise<void> {
    const { spool } = this.opts;
    const max = this.opts.batchLines ?? 5_000;
    while (!this.hardStop.signal.aborted) {
      let batch = await spool.read(max);
      if (batch.lines.length > 0 && batch.lines.length < max && (await this.linger())) batch = await spool.read(max);
      if (batch.lines.length === 0) {
        if (this.drain.signal.aborted) return;
        await this.idle();
        continue;
      }
      this.lastWriteAt = performance.now();
      if (!(await this.deliver(batch.lines))) return;
      await spool.commit(batch.cursor);
      this.opts.hooks?.written?.(batch.lines);
    }
  }

  /** Waits out the rest of the linger after the previous write; true when it waited. Draining does not linger. */
  private async linger(): Promise<boolean> {
    const waitMs = this.lastWriteAt + (this.opts.lingerMs ?? 1_000) - performance.now();
    if (waitMs <= 0 || this.drain.signal.aborted) return false;
    await sleep(waitMs, this.drain.signal);
    return true;
  }

  private async idle(): Promise<void> {
    const idleMs = this.opts.idlePingMs ?? 15_000;
    const signal = AbortSignal.any([this.drain.signal, AbortSignal.timeout(idleMs)]);
    await this.opts.spool.waitForData(signal);
    if (this.opts.spool.backlog().bytes > 0 || this.drain.signal.aborted) return;
    const ping = await this.opts.influx.ping();
    this.markUp(ping.ok, ping.ok ? null : ping.error);
  }

  /** Write until stored; false when stopped first. */
  private async deliver(lines: readonly string[]): Promise<boolean> {
    for (let attempt = 0; !this.hardStop.signal.aborted; attempt++) {
      if ((await this.writeOnce(lines)) === 'ok') return true;
      await sleep(this.backoffMs(attempt), this.hardStop.signal);
    }
    return false;
  }

  private async writeOnce(lines: readonly string[]): Promise<Outcome> {
    try {
      await this.opts.influx.writeLines(lines);
      this.markUp(true, null);
      return 'ok';
    } catch (err) {
      const failure = classifyWriteError(err);
      if (failure === 'bad-data') return this.isolateBadLines(lines, err);
      this.opts.hooks?.failed?.(err);
      this.markUp(false, describeError(err));
      if (failure === 'missing-database') await this.opts.influx.ensureDatabase().catch(() => undefined);
      return 'retry';
    }
  }

  /**
   * A refused batch is split in halves until the refused lines stand alone; those are logged,
   * counted and skipped so they never wedge the pipeline. Rewriting good lines is harmless.
   */
  private async isolateBadLines(lines: readonly string[], err: unknown): Promise<Outcome> {
    if (lines.length === 1) {
      this.logger.error({ err: describeError(err), line: lines[0] }, 'InfluxDB refused a line; skipping it');
      this.opts.hooks?.rejected?.(1);
      this.markUp(true, null);
      return 'ok';
    }
    const middle = Math.ceil(lines.length / 2);
    for (const half of [lines.slice(0, middle), lines.slice(middle)]) {
      if ((await this.writeOnce(half)) === 'retry') return 'retry';
    }
    return 'ok';
  }

  private markUp(up: boolean, error: string | null): void {
    const changed = this.state.up !== up;
    const now = (this.opts.now ?? Date.now)();
    this.state = { up, sinceMs: changed ? now : this.state.sinceMs, lastError: up ? this.state.lastError : error };
    if (!changed) return;
    this.opts.hooks?.up?.(up);
    const backlogBytes = this.opts.spool.backlog().bytes;
    if (up) this.logger.info({ backlogBytes }, 'InfluxDB is taking writes');
    else this.logger.warn({ error, backlogBytes }, 'InfluxDB unavailable; readings stay in the spool and are retried');
  }

  private backoffMs(attempt: number): number {
    const { minMs, maxMs } = this.opts.backoff ?? { minMs: 500, maxMs: 10_000 };
    const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 20));
    return base / 2 + (this.opts.random ?? Math.random)() * (base / 2);
  }

  stop(drainMs: number): Promise<void> {
    this.stopping ??= this.finish(drainMs);
    return this.stopping;
  }

  private async finish(drainMs: number): Promise<void> {
    this.drain.abort();
    const timer = setTimeout(() => this.hardStop.abort(), drainMs);
    try {
      await this.running;
    } finally {
      clearTimeout(timer);
      this.hardStop.abort();
    }
    const backlogBytes = this.opts.spool.backlog().bytes;
    if (backlogBytes > 0) this.logger.warn({ backlogBytes }, 'forwarder stopped with a backlog; it is sent on the next start');
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

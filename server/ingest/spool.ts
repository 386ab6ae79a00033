import { mkdir, open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import {
  listSegments,
  readCheckpoint,
  readLines,
  removeSegment,
  segmentPath,
  syncDir,
  truncateTornTail,
  writeCheckpoint,
} from './spool-files.js';
import type { SegmentInfo, SpoolCursor } from './spool-files.js';

export type { SpoolCursor } from './spool-files.js';

/**
 * Write-ahead spool of line-protocol lines (docs/reliability.md): `append` resolves only once
 * its lines are fdatasync'ed, so the gateway may PUBACK; the forwarder reads from the checkpoint,
 * hands lines to InfluxDB and commits. Bounded: when the backlog reaches `maxBytes`, appends wait
 * (stations keep their readings and retry) instead of anything being dropped.
 */
export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  logger: Logger;
  /** A segment is closed and a new one started past this size; default 16 MiB. */
  segmentBytes?: number;
}

export interface SpoolBatch {
  lines: string[];
  /** Commit this once the lines are stored. */
  cursor: SpoolCursor;
}

export interface SpoolBacklog {
  /** Bytes appended and not yet committed. */
  bytes: number;
  segments: number;
  /** Appends are waiting for room. */
  full: boolean;
}

export interface SpoolStats {
  /** Appends made durable since open. */
  appends: number;
  /** fdatasync calls since open; fewer than appends when group commit coalesced them. */
  syncs: number;
}

export interface Spool {
  append(lines: readonly string[]): Promise<void>;
  read(maxLines: number): Promise<SpoolBatch>;
  commit(cursor: SpoolCursor): Promise<void>;
  backlog(): SpoolBacklog;
  stats(): SpoolStats;
  /** Resolves once there is something to read, the spool closes, or `signal` aborts. */
  waitForData(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export class SpoolClosedError extends Error {
  override readonly name = 'SpoolClosedError';
}

interface PendingAppend {
  buf: Buffer;
  resolve: () => void;
  reject: (err: Error) => void;
}

export async function openSpool(opts: SpoolOptions): Promise<Spool> {
  await mkdir(opts.dir, { recursive: true });
  const segments = await listSegments(opts.dir);
  let checkpoint = (await readCheckpoint(opts.dir)) ?? { segment: segments[0]?.id ?? 1, offset: 0 };
  // Segments before the checkpoint were forwarded; a crash came between commit and delete.
  for (const seg of segments.filter((s) => s.id < checkpoint.segment)) await removeSegment(opts.dir, seg.id);
  const live = segments.filter((s) => s.id >= checkpoint.segment);
  const last = live.at(-1);
  if (last) last.size = await truncateTornTail(segmentPath(opts.dir, last.id), last.size);
  const first = live[0];
  if (!first) checkpoint = { segment: Math.max(checkpoint.segment, 1), offset: 0 };
  else if (first.id !== checkpoint.segment) checkpoint = { segment: first.id, offset: 0 };
  checkpoint.offset = Math.min(checkpoint.offset, first?.size ?? 0);
  const writeSeg = last ?? { id: checkpoint.segment, size: 0 };
  const fh = await open(segmentPath(opts.dir, writeSeg.id), last ? 'r+' : 'wx');
  if (!last) await syncDir(opts.dir);
  const spool = new FileSpool(opts, last ? live : [writeSeg], checkpoint, fh);
  opts.logger.info({ dir: opts.dir, backlogBytes: spool.backlog().bytes, checkpoint }, 'spool opened');
  return spool;
}

class FileSpool implements Spool {
  private readonly logger: Logger;
  private readonly segmentBytes: number;
  private queue: PendingAppend[] = [];
  private flushing: Promise<void> | null = null;
  private flushScheduled = false;
  private flushAgain = false;
  private dataWaiters = new Set<() => void>();
  private checkpointWrite: Promise<void> = Promise.resolve();
  private fullWarned = false;
  private closing: Promise<void> | null = null;
  private counts: SpoolStats = { appends: 0, syncs: 0 };

  constructor(
    private readonly opts: SpoolOptions,
    /** Live segments, oldest first; the last one is being written. */
    private readonly segments: SegmentInfo[],
    private checkpoint: SpoolCursor,
    private writeFh: FileHandle,
  ) {
    this.logger = opts.logger.child({ component: 'spool' });
    this.segmentBytes = opts.segmentBytes ?? 16 * 1024 * 1024;
  }

  /** The segment being written: the last live one, never absent (openSpool makes one, commit never removes it). */
  private get writing(): SegmentInfo {
    const seg = this.segments.at(-1);
    if (!seg) throw new Error('spool: no segment to write to');
    return seg;
  }

  append(lines: readonly string[]): Promise<void> {
    if (this.closing) return Promise.reject(new SpoolClosedError('spool is closed'));
    if (lines.length === 0) return Promise.resolve();
    if (lines.some((line) => line.includes('\n'))) return Promise.reject(new RangeError('spool: a line contains a newline'));
    const buf = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    return new Promise((resolve, reject) => {
      this.queue.push({ buf, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Group commit: everything appended in this tick, or while a flush runs, shares one fdatasync. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.runFlush();
    });
  }

  private runFlush(): void {
    if (this.flushing) {
      // The running loop may already have looked at the queue for the last time.
      this.flushAgain = true;
      return;
    }
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      if (this.flushAgain) {
        this.flushAgain = false;
        this.runFlush();
      }
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.takeFitting();
      if (batch.length === 0) {
        this.warnFull();
        return; // commit() schedules the next flush once there is room
      }
      try {
        await this.writeDurably(Buffer.concat(batch.map((p) => p.buf)));
        this.counts.syncs++;
        this.counts.appends += batch.length;
        for (const p of batch) p.resolve();
        this.wakeReaders();
      } catch (err) {
        this.logger.error({ err }, 'spool write failed; the appends are refused');
        for (const p of batch) p.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /** The queued appends, in order, that fit under maxBytes; an oversized one goes alone into an empty spool. */
  private takeFitting(): PendingAppend[] {
    const backlog = this.backlogBytes();
    let room = this.opts.maxBytes - backlog;
    let count = 0;
    for (const p of this.queue) {
      if (p.buf.length > room && !(count === 0 && backlog === 0)) break;
      room -= p.buf.length;
      count++;
    }
    return this.queue.splice(0, count);
  }

  private async writeDurably(buf: Buffer): Promise<void> {
    let seg = this.writing;
    if (seg.size > 0 && seg.size + buf.length > this.segmentBytes) seg = await this.roll();
    try {
      let written = 0;
      while (written < buf.length) {
        const { bytesWritten } = await this.writeFh.write(buf, written, buf.length - written, seg.size + written);
        written += bytesWritten;
      }
      await this.writeFh.datasync();
    } catch (err) {
      // Cut what may have reached the file, so the next write continues from whole lines.
      await this.writeFh.truncate(seg.size).catch(() => undefined);
      throw err;
    }
    seg.size += buf.length;
  }

  private async roll(): Promise<SegmentInfo> {
    const next: SegmentInfo = { id: this.writing.id + 1, size: 0 };
    const fh = await open(segmentPath(this.opts.dir, next.id), 'wx');
    await syncDir(this.opts.dir);
    await this.writeFh.close();
    this.writeFh = fh;
    this.segments.push(next);
    return next;
  }

  async read(maxLines: number): Promise<SpoolBatch> {
    for (;;) {
      const index = this.segments.findIndex((s) => s.id === this.checkpoint.segment);
      const seg = this.segments[index];
      const next = this.segments[index + 1];
      if (!seg) return { lines: [], cursor: { ...this.checkpoint } };
      const available = seg.size - this.checkpoint.offset;
      if (available > 0) {
        const path = segmentPath(this.opts.dir, seg.id);
        const { lines, bytes } = await readLines(path, this.checkpoint.offset, available, maxLines);
        return { lines, cursor: { segment: seg.id, offset: this.checkpoint.offset + bytes } };
      }
      if (!next) return { lines: [], cursor: { ...this.checkpoint } };
      // This segment is fully forwarded and no longer written: move on, and let it be deleted.
      await this.commit({ segment: next.id, offset: 0 });
    }
  }

  async commit(cursor: SpoolCursor): Promise<void> {
    const cp = this.checkpoint;
    if (cursor.segment < cp.segment || (cursor.segment === cp.segment && cursor.offset < cp.offset)) {
      throw new RangeError(`spool: commit behind the checkpoint (${JSON.stringify(cursor)} < ${JSON.stringify(cp)})`);
    }
    if (cursor.segment > this.writing.id) throw new RangeError(`spool: commit past the last segment (${cursor.segment})`);
    this.checkpoint = { ...cursor };
    const done = this.segments.filter((s) => s.id < cursor.segment);
    this.segments.splice(0, done.length);
    // Chained so checkpoints land in order; a failed one does not block the next.
    const write = this.checkpointWrite
      .catch(() => undefined)
      .then(async () => {
        await writeCheckpoint(this.opts.dir, cursor);
        for (const seg of done) await removeSegment(this.opts.dir, seg.id);
      });
    this.checkpointWrite = write;
    await write;
    if (this.fullWarned && this.backlogBytes() < this.opts.maxBytes) {
      this.fullWarned = false;
      this.logger.info({ backlogBytes: this.backlogBytes() }, 'spool has room again');
    }
    if (this.queue.length > 0 && !this.closing) this.scheduleFlush();
  }

  private warnFull(): void {
    if (this.fullWarned) return;
    this.fullWarned = true;
    this.logger.warn(
      { backlogBytes: this.backlogBytes(), maxBytes: this.opts.maxBytes },
      'spool full: holding acknowledgements until InfluxDB takes the backlog',
    );
  }

  private backlogBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.size, 0) - this.checkpoint.offset;
  }

  backlog(): SpoolBacklog {
    return { bytes: this.backlogBytes(), segments: this.segments.length, full: this.fullWarned };
  }

  stats(): SpoolStats {
    return { ...this.counts };
  }

  waitForData(signal?: AbortSignal): Promise<void> {
    if (this.backlogBytes() > 0 || this.closing || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.dataWaiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.dataWaiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private wakeReaders(): void {
    for (const wake of [...this.dataWaiters]) wake();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    // What fits is written (its appends resolve); what waits for room is refused, never half-kept.
    this.runFlush();
    while (this.flushing) await this.flushing;
    for (const p of this.queue.splice(0)) p.reject(new SpoolClosedError('spool closed while the append waited for room'));
    await this.checkpointWrite.catch((err: unknown) => this.logger.error({ err }, 'spool checkpoint write failed'));
    await this.writeFh.close();
    this.wakeReaders();
    this.logger.info({ backlogBytes: this.backlogBytes() }, 'spool closed');
  }
}

import { open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** A position in the spool: byte `offset` in segment number `segment`. */
export interface SpoolCursor {
  segment: number;
  offset: number;
}

export interface SegmentInfo {
  id: number;
  /** Bytes of whole lines in the file (after any torn tail was cut). */
  size: number;
}

const SEGMENT_NAME = /^(\d+)\.lp$/;
export const CHECKPOINT_FILE = 'checkpoint.json';

export function segmentPath(dir: string, id: number): string {
  return join(dir, `${String(id).padStart(6, '0')}.lp`);
}

export async function listSegments(dir: string): Promise<SegmentInfo[]> {
  const names = await readdir(dir);
  const ids = names.flatMap((name) => {
    const match = SEGMENT_NAME.exec(name);
    return match ? [Number(match[1])] : [];
  });
  ids.sort((a, b) => a - b);
  return Promise.all(ids.map(async (id) => ({ id, size: (await stat(segmentPath(dir, id))).size })));
}

/** The checkpoint, or null when there is none or it cannot be read (then everything is resent). */
export async function readCheckpoint(dir: string): Promise<SpoolCursor | null> {
  let text: string;
  try {
    text = await readFile(join(dir, CHECKPOINT_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const { segment, offset } = JSON.parse(text) as { segment?: unknown; offset?: unknown };
    if (isPosition(segment) && isPosition(offset)) return { segment, offset };
  } catch {
    // A damaged checkpoint only costs duplicates, which InfluxDB absorbs.
  }
  return null;
}

function isPosition(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/**
 * tmp + rename keeps the checkpoint whole. It is not fsynced: losing the last checkpoint in a
 * power cut means resending lines InfluxDB already has, and those overwrite themselves.
 */
export async function writeCheckpoint(dir: string, cursor: SpoolCursor): Promise<void> {
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(cursor));
  await rename(tmp, join(dir, CHECKPOINT_FILE));
}

export async function removeSegment(dir: string, id: number): Promise<void> {
  try {
    await unlink(segmentPath(dir, id));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Cut bytes after the last `\n`: a crash in the middle of a write leaves a partial line, which
 * was never acknowledged (the append had not resolved), so dropping it loses nothing.
 * Returns the new size.
 */
export async function truncateTornTail(path: string, size: number): Promise<number> {
  const fh = await open(path, 'r+');
  try {
    const end = await lastNewlineEnd(fh, size);
    if (end < size) await fh.truncate(end);
    return end;
  } finally {
    await fh.close();
  }
}

async function lastNewlineEnd(fh: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await fh.read(chunk, 0, end - start, start);
    const index = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (index >= 0) return start + index + 1;
    end = start;
  }
  return 0;
}

/** Make a new directory entry (a new segment) survive a power cut. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Whole lines from `offset`, at most `maxLines`, within the first `limit` bytes. */
export async function readLines(
  path: string,
  offset: number,
  limit: number,
  maxLines: number,
): Promise<{ lines: string[]; bytes: number }> {
  const fh = await open(path, 'r');
  try {
    let length = Math.min(limit, Math.max(64 * 1024, maxLines * 256));
    for (;;) {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      const parsed = splitLines(buf.subarray(0, bytesRead), maxLines);
      // A line longer than the chunk: read more, unless there is no more.
      if (parsed.lines.length > 0 || length >= limit) return parsed;
      length = Math.min(limit, length * 2);
    }
  } finally {
    await fh.close();
  }
}

function splitLines(buf: Buffer, maxLines: number): { lines: string[]; bytes: number } {
  const lines: string[] = [];
  let start = 0;
  while (lines.length < maxLines) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    lines.push(buf.toString('utf8', start, nl));
    start = nl + 1;
  }
  return { lines, bytes: start };
}

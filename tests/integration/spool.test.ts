import { appendFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSpool, SpoolClosedError } from '../../server/ingest/spool.js';
import type { Spool } from '../../server/ingest/spool.js';

const logger = pino({ level: 'silent' });
let root: string | null = null;
let dir: string;
const open: Spool[] = [];

async function spoolAt(options: { maxBytes?: number; segmentBytes?: number } = {}): Promise<Spool> {
  const spool = await openSpool({ dir, logger, maxBytes: options.maxBytes ?? 1_000_000, segmentBytes: options.segmentBytes });
  open.push(spool);
  return spool;
}

const lines = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `m,s=${prefix} v=${i} ${1_700_000_000_000 + i}`);

async function readAll(spool: Spool): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const batch = await spool.read(1_000);
    if (batch.lines.length === 0) return out;
    out.push(...batch.lines);
    await spool.commit(batch.cursor);
  }
}

beforeEach(async () => {
  root ??= await mkdtemp(join(tmpdir(), 'frostwatch-spool-'));
  dir = await mkdtemp(join(root, 'case-'));
});
afterEach(async () => {
  for (const spool of open.splice(0)) await spool.close();
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('spool', () => {
  it('group-commits concurrent appends and keeps their order', async () => {
    const spool = await spoolAt();
    const appends = Array.from({ length: 50 }, (_, i) => spool.append([`m v=${i} ${i}`]));
    await Promise.all(appends);
    expect(spool.stats()).toEqual({ appends: 50, syncs: 1 });
    const read = await spool.read(1_000);
    expect(read.lines).toEqual(Array.from({ length: 50 }, (_, i) => `m v=${i} ${i}`));
    expect(spool.backlog().bytes).toBeGreaterThan(0);
    await spool.commit(read.cursor);
    expect(spool.backlog().bytes).toBe(0);
  });

  it('resolves an append only after its bytes are in the segment file', async () => {
    const spool = await spoolAt();
    await spool.append(['m v=1 1', 'm v=2 2']);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.lp'));
    expect(files).toHaveLength(1);
    expect(await readFile(join(dir, files[0]!), 'utf8')).toBe('m v=1 1\nm v=2 2\n');
  });

  it('reads in batches of at most maxLines and resumes from the checkpoint after close and reopen', async () => {
    const first = await spoolAt();
    await first.append(lines('a', 25));
    const batch = await first.read(10);
    expect(batch.lines).toEqual(lines('a', 10));
    await first.commit(batch.cursor);
    await first.close();

    const second = await spoolAt();
    expect(await readAll(second)).toEqual(lines('a', 25).slice(10));
  });

  it('resumes after a crash (reopened without close), resending only uncommitted lines', async () => {
    const crashed = await spoolAt();
    await crashed.append(lines('c', 30));
    const batch = await crashed.read(12);
    await crashed.commit(batch.cursor);
    const read = await crashed.read(5); // read but not committed: must come back

    const reopened = await openSpool({ dir, logger, maxBytes: 1_000_000 });
    open.push(reopened);
    expect(read.lines).toEqual(lines('c', 30).slice(12, 17));
    expect(await readAll(reopened)).toEqual(lines('c', 30).slice(12));
  });

  it('cuts a torn tail on reopen and appends after the last whole line', async () => {
    const first = await spoolAt();
    await first.append(['m v=1 1', 'm v=2 2']);
    await first.close();
    const segment = join(
      dir,
      (await readdir(dir)).find((f) => f.endsWith('.lp'))!,
    );
    await appendFile(segment, 'm v=3 partial-wri');

    const second = await spoolAt();
    expect((await stat(segment)).size).toBe('m v=1 1\nm v=2 2\n'.length);
    await second.append(['m v=4 4']);
    expect(await readAll(second)).toEqual(['m v=1 1', 'm v=2 2', 'm v=4 4']);
  });

  it('rolls segments and deletes the ones fully forwarded', async () => {
    const spool = await spoolAt({ segmentBytes: 200 });
    for (let i = 0; i < 10; i++) await spool.append(lines(`r${i}`, 3));
    const segmentsBefore = (await readdir(dir)).filter((f) => f.endsWith('.lp'));
    expect(segmentsBefore.length).toBeGreaterThan(3);
    const all = await readAll(spool);
    expect(all).toEqual(Array.from({ length: 10 }, (_, i) => lines(`r${i}`, 3)).flat());
    expect((await readdir(dir)).filter((f) => f.endsWith('.lp'))).toHaveLength(1);
    expect(spool.backlog()).toMatchObject({ bytes: 0, segments: 1 });

    await spool.close();
    const reopened = await spoolAt({ segmentBytes: 200 });
    expect(await readAll(reopened)).toEqual([]);
    await reopened.append(['m v=after 1']);
    expect(await readAll(reopened)).toEqual(['m v=after 1']);
  });

  it('holds appends while full and lets them through, in order, once the forwarder commits', async () => {
    const line = 'm,s=x v=1 1700000000000'; // 24 bytes with its newline
    const spool = await spoolAt({ maxBytes: 100 });
    await spool.append([line, line, line]); // 72 bytes
    let settled: string | null = null;
    const blocked = spool.append([line, line]).then(() => (settled = 'resolved'));
    const behind = spool.append(['m,s=y v=2 1700000000001']);
    await spool.append([]); // a no-op append resolves at once and does not jump the queue
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBeNull();
    expect(spool.backlog()).toMatchObject({ bytes: 72, full: true });

    const batch = await spool.read(10);
    expect(batch.lines).toEqual([line, line, line]);
    await spool.commit(batch.cursor);
    await blocked;
    await behind;
    expect(settled).toBe('resolved');
    expect(await readAll(spool)).toEqual([line, line, 'm,s=y v=2 1700000000001']);
    expect(spool.backlog().full).toBe(false);
  });

  it('refuses appends still waiting for room when closed, and every append after', async () => {
    const spool = await spoolAt({ maxBytes: 10 });
    await spool.append(['m v=1 1000']); // alone into an empty spool even though it is larger than maxBytes
    const waiting = expect(spool.append(['m v=2 2000'])).rejects.toBeInstanceOf(SpoolClosedError);
    await spool.close();
    await waiting;
    await expect(spool.append(['m v=3 3000'])).rejects.toBeInstanceOf(SpoolClosedError);
    await spool.close();
  });

  it('refuses a line containing a newline', async () => {
    const spool = await spoolAt();
    await expect(spool.append(['m v=1 1\nm v=2 2'])).rejects.toThrow(RangeError);
  });

  it('wakes a reader waiting for data', async () => {
    const spool = await spoolAt();
    const woke = spool.waitForData();
    await spool.append(['m v=1 1']);
    await woke;
    expect((await spool.read(10)).lines).toEqual(['m v=1 1']);
  });
});

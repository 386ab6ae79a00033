import { mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, startManagedInfluxd } from '../../server/influx/managed-influxd.js';
import type { ManagedInfluxd } from '../../server/influx/managed-influxd.js';

const logger = pino({ level: 'silent' });
let dir: string;
const started: ManagedInfluxd[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-managed-'));
});
afterAll(async () => {
  for (const influxd of started) await influxd.stop();
  await rm(dir, { recursive: true, force: true });
});

async function pingStatus(url: string): Promise<number | string> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) });
    return res.status;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Addresses of the TCP sockets `pid` listens on, from /proc (hex ip:port, little-endian ipv4). */
async function listeningAddresses(pid: number): Promise<string[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(link);
    if (match?.[1]) inodes.add(match[1]);
  }
  const addresses: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    const rows = (await readFile(`/proc/${pid}/net/${table}`, 'utf8')).split('\n').slice(1);
    for (const row of rows) {
      const cols = row.trim().split(/\s+/);
      if (cols[3] === '0A' && cols[9] !== undefined && inodes.has(cols[9])) addresses.push(`${table}:${cols[1]}`);
    }
  }
  return addresses;
}

describe('managed influxd', () => {
  it('listens only on 127.0.0.1, restarts after a crash, and stops idempotently', async () => {
    const influxd = await startManagedInfluxd({ dataDir: join(dir, 'a'), port: 0, logger, installIfMissing: false });
    started.push(influxd);
    expect(influxd.url).toBe(`http://127.0.0.1:${influxd.port}`);
    expect(await pingStatus(influxd.url)).toBe(204);

    const listening = await listeningAddresses(influxd.pid);
    expect(listening.length).toBe(2); // HTTP and the RPC (backup/restore) port
    for (const address of listening) expect(address).toMatch(/^tcp:0100007F:[0-9A-F]{4}$/);

    const config = await readFile(join(dir, 'a', 'influxdb.conf'), 'utf8');
    expect(config).toMatch(/store-enabled = false/);
    expect(config).toMatch(/reporting-disabled = true/);

    const firstPid = influxd.pid;
    process.kill(firstPid, 'SIGKILL');
    await expect.poll(() => influxd.pid !== firstPid && influxd.pid > 0, { timeout: 15_000, interval: 100 }).toBe(true);
    await expect.poll(() => pingStatus(influxd.url), { timeout: 15_000, interval: 100 }).toBe(204);

    await Promise.all([influxd.stop(), influxd.stop()]);
    await influxd.stop();
    expect(await pingStatus(influxd.url)).not.toBe(204);
  });

  it('fails with the install command when influxd is missing', async () => {
    const attempt = startManagedInfluxd({
      dataDir: join(dir, 'b'),
      port: 0,
      logger,
      installIfMissing: false,
      influxdPath: join(dir, 'no-such-influxd'),
    });
    await expect(attempt).rejects.toThrow(/^sudo apt-get install -y influxdb$/);
  });

  it("fails with influxd's own words when it cannot start", async () => {
    // Holds the port; any connection (our /ping probe) is dropped at once.
    const blocker = createServer((socket) => socket.destroy());
    const port = await findFreePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const attempt = startManagedInfluxd({ dataDir: join(dir, 'c'), port, logger, installIfMissing: false });
      await expect(attempt).rejects.toThrow(/influxd exited[\s\S]*address already in use/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('chooses again when a port it found free is taken before influxd binds it', async () => {
    // The race of tests and benches starting several influxd at once, made certain: the first port handed out is held.
    const blocker = createServer((socket) => socket.destroy());
    const taken = await findFreePort();
    await new Promise<void>((resolve) => blocker.listen(taken, '127.0.0.1', resolve));
    const handed: number[] = [];
    const choosePort = async (): Promise<number> => {
      const port = handed.length === 0 ? taken : await findFreePort();
      handed.push(port);
      return port;
    };
    try {
      const influxd = await startManagedInfluxd({ dataDir: join(dir, 'race'), port: 0, logger, installIfMissing: false, choosePort });
      started.push(influxd);
      expect(influxd.port).not.toBe(taken);
      expect(handed.length).toBeGreaterThanOrEqual(4); // HTTP and RPC ports, twice
      expect(await pingStatus(influxd.url)).toBe(204);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('stops an influxd orphaned by a SIGKILLed frostwatch before starting its own', async () => {
    const dataDir = join(dir, 'orphan');
    const first = await startManagedInfluxd({ dataDir, port: 0, logger, installIfMissing: false });
    const orphanPid = first.pid;
    // What a SIGKILL of frostwatch leaves behind: influxd still running, the pid file still there.
    // Detach the supervisor's view by starting a second manager on the same directory while the first child lives.
    const second = await startManagedInfluxd({ dataDir, port: 0, logger, installIfMissing: false });
    try {
      expect(second.pid).not.toBe(orphanPid);
      expect(() => process.kill(orphanPid, 0)).toThrow();
      expect((await readFile(join(dataDir, 'influxd.pid'), 'utf8')).trim()).toBe(String(second.pid));
      const ping = await fetch(`${second.url}/ping`);
      expect(ping.status).toBe(204);
    } finally {
      await second.stop();
      await first.stop();
    }
  });
});

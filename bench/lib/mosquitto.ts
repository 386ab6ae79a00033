import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../../server/influx/free-port.js';
import { sleep } from './stats.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export interface BenchMosquitto {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Debian's Mosquitto on a free 127.0.0.1 port, anonymous, no persistence, an unbounded queue per subscriber so
 * it drops nothing a QoS 1 subscriber has not taken yet (as Aedes does not either).
 */
export async function startMosquitto(): Promise<BenchMosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'frostwatch-bench-mosquitto-'));
  const port = await findFreePort();
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest none', 'max_queued_messages 0', ''].join('\n'),
  );
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    })());
  if (!(await portOpen(port, child))) {
    await stop();
    throw new Error(`mosquitto did not listen on ${port}: ${stderr}`);
  }
  return { url: `mqtt://127.0.0.1:${port}`, pid: child.pid ?? -1, stop };
}

async function portOpen(port: number, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 50; i += 1) {
    if (child.exitCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return true;
    await sleep(100);
  }
  return false;
}

export function mosquittoVersion(): Promise<string> {
  return new Promise((resolve) => {
    execFile(MOSQUITTO, ['-h'], { timeout: 5_000 }, (_err, stdout, stderr) => {
      const match = /mosquitto version (\S+)/.exec(`${stdout}${stderr}`);
      resolve(match?.[1] ?? 'unknown');
    });
  });
}

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { ensureInfluxdInstalled } from './influxd-install.js';
import { findFreePort } from './free-port.js';
import { stopOrphanInfluxd, writePidFile } from './orphan.js';

export { findFreePort } from './free-port.js';

export interface ManagedInfluxdOptions {
  dataDir: string;
  /** HTTP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  logger: Logger;
  /** When influxd is missing: install it with apt-get (as root), else fail with the command to run. */
  installIfMissing: boolean;
  /** How long to wait for `/ping` after a start; default 30 s. */
  startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL; default 10 s. */
  stopTimeoutMs?: number;
  /** The influxd binary; default `influxd` on PATH. */
  influxdPath?: string;
  /** How a free port is chosen (the HTTP port when `port` is 0, and the RPC port); default findFreePort. */
  choosePort?: () => Promise<number>;
}

/** Starts tried when a port chosen free was taken before influxd bound it. */
const PORT_ATTEMPTS = 3;

export interface ManagedInfluxd {
  url: string;
  port: number;
  /** The current influxd's pid; changes when the supervisor restarts it. */
  readonly pid: number;
  stop(): Promise<void>;
}

/** Lets the next start stop an influxd orphaned by a SIGKILLed frostwatch (see orphan.ts). */
export const PID_FILE = 'influxd.pid';
const STDERR_LINES_KEPT = 30;
const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;
/** A run this long counts as healthy: the next crash starts the backoff from the beginning. */
const STABLE_RUN_MS = 60_000;

/** Everything on 127.0.0.1, no phoning home, no self-monitoring database, no request log. */
export function influxdConfig(dataDir: string, httpPort: number, rpcPort: number): string {
  const q = (value: string): string => JSON.stringify(value);
  return [
    'reporting-disabled = true',
    `bind-address = ${q(`127.0.0.1:${rpcPort}`)}`,
    '[meta]',
    `  dir = ${q(join(dataDir, 'meta'))}`,
    '[data]',
    `  dir = ${q(join(dataDir, 'data'))}`,
    `  wal-dir = ${q(join(dataDir, 'wal'))}`,
    '  query-log-enabled = false',
    '[monitor]',
    '  store-enabled = false',
    '[http]',
    `  bind-address = ${q(`127.0.0.1:${httpPort}`)}`,
    '  log-enabled = false',
    '[logging]',
    '  level = "warn"',
    '  suppress-logo = true',
    '',
  ].join('\n');
}

/** Start influxd on 127.0.0.1 in `dataDir`, wait until it answers, and restart it if it dies. */
export async function startManagedInfluxd(opts: ManagedInfluxdOptions): Promise<ManagedInfluxd> {
  const logger = opts.logger.child({ component: 'influxd' });
  const binary = await ensureInfluxdInstalled({ binary: opts.influxdPath ?? 'influxd', installIfMissing: opts.installIfMissing, logger });
  await mkdir(opts.dataDir, { recursive: true });
  const configPath = join(opts.dataDir, 'influxdb.conf');
  await stopOrphanInfluxd(join(opts.dataDir, PID_FILE), configPath, logger);
  const choosePort = opts.choosePort ?? findFreePort;
  for (let attempt = 1; ; attempt += 1) {
    const port = opts.port === 0 ? await choosePort() : opts.port;
    await writeFile(configPath, influxdConfig(opts.dataDir, port, await choosePort()));
    const supervisor = new Supervisor(binary, configPath, `http://127.0.0.1:${port}`, logger, opts);
    try {
      await supervisor.start();
    } catch (err) {
      // A port found free can be taken by another process before influxd binds it (tests and benches starting
      // several at once): choose again. A port the operator set that is in use fails the same way each time.
      if (attempt < PORT_ATTEMPTS && err instanceof Error && err.message.includes('address already in use')) {
        logger.warn({ attempt, err: err.message }, 'influxd could not bind a port chosen free; choosing again');
        continue;
      }
      throw err;
    }
    return managed(supervisor, port);
  }
}

function managed(supervisor: Supervisor, port: number): ManagedInfluxd {
  return {
    url: supervisor.url,
    port,
    get pid() {
      return supervisor.pid;
    },
    stop: () => supervisor.stop(),
  };
}

class Supervisor {
  private child: ChildProcess | null = null;
  private stderrTail: string[] = [];
  private stopping: Promise<void> | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private restartDelayMs = RESTART_MIN_MS;
  private startedAt = 0;

  constructor(
    private readonly binary: string,
    private readonly configPath: string,
    readonly url: string,
    private readonly logger: Logger,
    private readonly opts: ManagedInfluxdOptions,
  ) {}

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  async start(): Promise<void> {
    const child = this.spawnChild();
    try {
      await this.waitForPing(child, this.opts.startTimeoutMs ?? 30_000);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.logger.info({ url: this.url, pid: child.pid }, 'influxd is up');
  }

  private spawnChild(): ChildProcess {
    // Its own process group: a Ctrl+C at the terminal reaches frostwatch only, which then stops influxd last,
    // after the spool has drained into it (shutdown in the order data flows).
    const child = spawn(this.binary, ['-config', this.configPath], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    this.child = child;
    this.startedAt = Date.now();
    void writePidFile(join(dirname(this.configPath), PID_FILE), child.pid).catch((err: unknown) =>
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not write the influxd pid file'),
    );
    this.stderrTail = [];
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => this.keepStderr(chunk));
    child.on('error', (err) => this.logger.error({ err }, 'influxd could not be started'));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    return child;
  }

  private keepStderr(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line.trim() === '') continue;
      this.stderrTail.push(line);
      this.logger.debug({ line }, 'influxd');
    }
    this.stderrTail.splice(0, Math.max(0, this.stderrTail.length - STDERR_LINES_KEPT));
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    if (this.stopping) return;
    if (Date.now() - this.startedAt > STABLE_RUN_MS) this.restartDelayMs = RESTART_MIN_MS;
    const delayMs = this.restartDelayMs;
    this.restartDelayMs = Math.min(RESTART_MAX_MS, this.restartDelayMs * 2);
    this.logger.error({ code, signal, restartInMs: delayMs, stderr: this.stderrTail.slice(-5) }, 'influxd exited unexpectedly; restarting');
    this.restartTimer = setTimeout(() => this.restart(), delayMs);
  }

  private restart(): void {
    this.restartTimer = null;
    if (this.stopping) return;
    const child = this.spawnChild();
    this.waitForPing(child, this.opts.startTimeoutMs ?? 30_000).then(
      () => this.logger.info({ pid: child.pid }, 'influxd restarted'),
      (err: unknown) => this.logger.error({ err }, 'influxd restart did not come up'),
    );
  }

  private async waitForPing(child: ChildProcess, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`influxd exited (${child.exitCode ?? child.signalCode}) before answering on ${this.url}:\n${this.tail()}`);
      }
      if (await pingOk(this.url)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`influxd did not answer on ${this.url}/ping within ${timeoutMs} ms:\n${this.tail()}`);
  }

  private tail(): string {
    return this.stderrTail.length === 0 ? '(no output on stderr)' : this.stderrTail.slice(-10).join('\n');
  }

  stop(): Promise<void> {
    this.stopping ??= this.terminate();
    return this.stopping;
  }

  private async terminate(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timeoutMs = this.opts.stopTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    const late = await Promise.race([exited.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) {
      this.logger.warn({ pid: child.pid, timeoutMs }, 'influxd ignored SIGTERM; killing it');
      child.kill('SIGKILL');
      await exited;
    }
    this.logger.info({ pid: child.pid }, 'influxd stopped');
  }
}

async function pingOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.status === 204;
  } catch {
    return false;
  }
}

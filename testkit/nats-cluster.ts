import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsPartitionMapping } from '../server/cluster/subjects.js';
import { findFreePort } from '../server/influx/free-port.js';
import { type WatchedProcess, watchProcess } from './process.js';

/** Debian's nats-server (`apt-get install nats-server`) installs into /usr/sbin, which a non-root PATH may lack. */
const CANDIDATES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

export interface NatsClusterOptions {
  /** Servers in the cluster; 3 gives JetStream a quorum that survives one loss. */
  nodes?: number;
  /** P of the readings subject mapping (server/cluster/subjects.ts) written into every server's config. */
  partitions: number;
  /** More configuration appended to every server's file. */
  extraConfig?: string;
  /** How long start() waits for every server up and a JetStream meta leader. */
  startTimeoutMs?: number;
}

export interface NatsNode {
  readonly name: string;
  /** `nats://127.0.0.1:<port>`, the same across restarts. */
  readonly url: string;
  /** Its monitoring endpoint (`/varz`, `/jsz`, `/healthz`). */
  readonly monitorUrl: string;
  readonly storeDir: string;
  running(): boolean;
  /** Signals the process (SIGKILL by default) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and store dir, and waits until it serves clients and sees its routes. */
  start(): Promise<void>;
  /** Everything this node printed (all runs). */
  output(): string;
}

export interface NatsCluster {
  readonly dir: string;
  /** Every node's client URL: what a client is given to connect and fail over. */
  readonly urls: string[];
  node(i: number): NatsNode;
  /** Waits until the running nodes agree on a JetStream meta leader; returns its server name. */
  waitForMetaLeader(timeoutMs?: number): Promise<string>;
  /** Stops every node and deletes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

interface Ports {
  client: number;
  cluster: number;
  monitor: number;
}

/**
 * N nats-server processes clustered over 127.0.0.1 on free ports, each with JetStream (file store in a temp dir), a
 * server name, routes to every other node, and the readings partition mapping; resolves once every node serves clients,
 * has its routes, and the cluster has a JetStream meta leader. A port taken between choosing and binding makes a node
 * exit at start; the whole cluster is then tried again on new ports.
 */
export async function startNatsCluster(opts: NatsClusterOptions): Promise<NatsCluster> {
  const binary = CANDIDATES.find((path) => existsSync(path));
  if (binary === undefined) throw new Error(`nats-server not found (${CANDIDATES.join(', ')}): apt-get install nats-server`);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'frostwatch-nats-'));
    const nodes: NodeHandle[] = [];
    try {
      const count = opts.nodes ?? 3;
      const ports: Ports[] = [];
      for (let i = 0; i < count; i++)
        ports.push({ client: await findFreePort(), cluster: await findFreePort(), monitor: await findFreePort() });
      for (let i = 0; i < count; i++) {
        const name = `n${i + 1}`;
        const storeDir = join(dir, name);
        await mkdir(storeDir);
        const configPath = join(dir, `${name}.conf`);
        await writeFile(configPath, nodeConfig(name, storeDir, ports, i, opts));
        nodes.push(new NodeHandle(binary, name, configPath, storeDir, ports[i] as Ports, count - 1));
      }
      const timeoutMs = opts.startTimeoutMs ?? 30_000;
      await Promise.all(nodes.map((node) => node.start(timeoutMs)));
      const cluster = makeCluster(dir, nodes);
      await cluster.waitForMetaLeader(timeoutMs);
      return cluster;
    } catch (err) {
      lastError = err;
      await Promise.all(nodes.map((node) => node.stop()));
      await rm(dir, { recursive: true, force: true });
      if (!/address already in use/i.test(String(err))) throw err;
    }
  }
  throw lastError;
}

function nodeConfig(name: string, storeDir: string, ports: Ports[], index: number, opts: NatsClusterOptions): string {
  const own = ports[index] as Ports;
  const routes = ports.filter((_, i) => i !== index).map((p) => `    "nats-route://127.0.0.1:${p.cluster}"`);
  return [
    `server_name: ${name}`,
    `listen: "127.0.0.1:${own.client}"`,
    `http: "127.0.0.1:${own.monitor}"`,
    // Lame duck mode is for SIGUSR2 only; SIGTERM exits at once, as a stopped machine would.
    'jetstream {',
    `  store_dir: "${storeDir}"`,
    '  max_memory_store: 64MB',
    '  max_file_store: 2GB',
    '}',
    'cluster {',
    '  name: frostwatch',
    `  listen: "127.0.0.1:${own.cluster}"`,
    '  routes: [',
    ...routes,
    '  ]',
    '}',
    natsPartitionMapping(opts.partitions),
    opts.extraConfig ?? '',
  ].join('\n');
}

function makeCluster(dir: string, nodes: NodeHandle[]): NatsCluster {
  let stopping: Promise<void> | null = null;
  return {
    dir,
    urls: nodes.map((node) => node.url),
    node(i) {
      const node = nodes[i];
      if (!node) throw new Error(`no NATS node ${i} (the cluster has ${nodes.length})`);
      return node;
    },
    async waitForMetaLeader(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let seen = '';
      while (Date.now() < deadline) {
        const leaders = new Set<string>();
        let answered = 0;
        const running = nodes.filter((node) => node.running());
        for (const node of running) {
          const jsz = await monitor(node.monitorUrl, '/jsz');
          const leader = metaLeaderOf(jsz);
          if (leader !== null) {
            leaders.add(leader);
            answered++;
          }
        }
        seen = [...leaders].join(',');
        const [leader] = leaders;
        if (leader !== undefined && leaders.size === 1 && answered === running.length) return leader;
        await sleep(100);
      }
      throw new Error(`no JetStream meta leader agreed on within ${timeoutMs} ms (seen: ${seen || 'none'})\n${tails(nodes)}`);
    },
    stop() {
      stopping ??= (async () => {
        await Promise.all(nodes.map((node) => node.stop()));
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

class NodeHandle implements NatsNode {
  readonly url: string;
  readonly monitorUrl: string;
  private current: WatchedProcess | null = null;
  private log = '';

  constructor(
    private readonly binary: string,
    readonly name: string,
    private readonly configPath: string,
    readonly storeDir: string,
    ports: Ports,
    private readonly peers: number,
  ) {
    this.url = `nats://127.0.0.1:${ports.client}`;
    this.monitorUrl = `http://127.0.0.1:${ports.monitor}`;
  }

  running(): boolean {
    const proc = this.current?.proc;
    return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
  }

  output(): string {
    return this.log + (this.current?.output() ?? '');
  }

  async start(timeoutMs = 30_000): Promise<void> {
    if (this.running()) return;
    this.retire();
    const watched = watchProcess(spawn(this.binary, ['-c', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.current = watched;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running())
        throw new Error(`nats-server ${this.name} exited (${await watched.exited}) at start:\n${watched.output().slice(-3_000)}`);
      const varz = await monitor(this.monitorUrl, '/varz');
      // Serving clients, and routed to at least one other node (the rest connect to it in their own time).
      if (isRecord(varz) && typeof varz['connections'] === 'number' && routesOf(varz) >= Math.min(1, this.peers)) return;
      await sleep(50);
    }
    throw new Error(`nats-server ${this.name} did not come up within ${timeoutMs} ms:\n${watched.output().slice(-3_000)}`);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.current?.kill(signal);
  }

  async stop(): Promise<void> {
    await this.current?.kill('SIGTERM');
  }

  /** Keeps a dead run's output before the next run replaces it. */
  private retire(): void {
    if (this.current) this.log += this.current.output();
    this.current = null;
  }
}

/** Live route connections, as `/varz` counts them. */
function routesOf(varz: Record<string, unknown>): number {
  return typeof varz['routes'] === 'number' ? varz['routes'] : 0;
}

function metaLeaderOf(jsz: unknown): string | null {
  if (!isRecord(jsz)) return null;
  const meta = jsz['meta_cluster'];
  if (!isRecord(meta)) return null;
  const leader = meta['leader'];
  return typeof leader === 'string' && leader !== '' ? leader : null;
}

async function monitor(base: string, path: string): Promise<unknown> {
  try {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(1_000) });
    if (!res.ok) return null;
    const body: unknown = await res.json();
    return body;
  } catch {
    return null;
  }
}

function tails(nodes: NodeHandle[]): string {
  return nodes.map((node) => `--- ${node.name}:\n${node.output().slice(-1_500)}`).join('\n');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

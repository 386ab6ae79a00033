/**
 * Where a path's CPU goes, by part: V8's sampling profiler (the inspector, in this process) runs while `work` runs, and
 * each sample's self time is charged to the part its function's file belongs to. This is what turns "the ingest costs
 * 2.4 × Aedes' CPU per message" into which parts cost it — the measured bound of goal 1 (BENCHMARKS.md).
 */
import { Session } from 'node:inspector/promises';

/** The parts, in the order the table lists them. */
export const CPU_PARTS = [
  'rule engine',
  'validation (payload, topic, zod)',
  'spool and InfluxDB forwarder',
  'gateway hooks',
  'broker (Aedes, mqtt-packet)',
  'publishers (mqtt.js)',
  'Node (streams, sockets, timers, promises)',
  'garbage collection',
  'other',
] as const;
export type CpuPart = (typeof CPU_PARTS)[number];

/** Which part a sampled function belongs to, by the file it is in (`url`) or V8's name for native work. */
export function partOf(url: string, functionName: string): CpuPart | null {
  if (functionName === '(idle)') return null;
  if (functionName === '(garbage collector)') return 'garbage collection';
  const mod = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (mod !== undefined) return partOfPackage(mod);
  if (/\/dist\/(frost|server\/warnings)\//.test(url) || url.endsWith('/contracts/solar.js')) return 'rule engine';
  if (/\/dist\/contracts\//.test(url) || url.endsWith('/gateway/authorize-publish.js')) return 'validation (payload, topic, zod)';
  if (/\/dist\/server\/(ingest|influx)\//.test(url)) return 'spool and InfluxDB forwarder';
  if (/\/dist\/gateway\//.test(url)) return 'gateway hooks';
  if (/\/dist\/bench\//.test(url)) return 'publishers (mqtt.js)';
  if (url.startsWith('node:') || url === '') return 'Node (streams, sockets, timers, promises)';
  return 'other';
}

function partOfPackage(name: string): CpuPart {
  if (name === 'zod') return 'validation (payload, topic, zod)';
  if (name === 'mqtt') return 'publishers (mqtt.js)';
  if (name === '@influxdata/influxdb-client') return 'spool and InfluxDB forwarder';
  if (
    [
      'aedes',
      'mqtt-packet',
      'bl',
      'qlobber',
      'fastfall',
      'fastparallel',
      'fastseries',
      'reusify',
      'mqemitter',
      'aedes-persistence',
      'hyperid',
      'retimer',
      'debug',
    ].includes(name)
  ) {
    return 'broker (Aedes, mqtt-packet)';
  }
  return 'other';
}

interface ProfileNode {
  id: number;
  callFrame: { url: string; functionName: string };
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

/**
 * Microseconds of self time per part while `work` ran on this thread (idle left out), and the whole process's CPU
 * meanwhile (all threads: libuv's file-system pool runs the spool's fdatasync, V8 has GC helper threads).
 */
export async function profileParts<T>(work: () => Promise<T>): Promise<{ result: T; partsUs: Map<CpuPart, number>; processUs: number }> {
  const session = new Session();
  session.connect();
  const stop = async (): Promise<Profile> => ((await session.post('Profiler.stop')) as { profile: Profile }).profile;
  try {
    await session.post('Profiler.enable');
    const cpu0 = process.cpuUsage();
    await session.post('Profiler.start');
    let result: T;
    try {
      result = await work();
    } catch (err) {
      await stop();
      throw err;
    }
    const profile = await stop();
    const { user, system } = process.cpuUsage(cpu0);
    return { result, partsUs: chargeSamples(profile), processUs: user + system };
  } finally {
    session.disconnect();
  }
}

function chargeSamples(profile: Profile): Map<CpuPart, number> {
  const part = new Map<number, CpuPart | null>();
  for (const node of profile.nodes) part.set(node.id, partOf(node.callFrame.url, node.callFrame.functionName));
  const out = new Map<CpuPart, number>(CPU_PARTS.map((p) => [p, 0]));
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  samples.forEach((id, i) => {
    const p = part.get(id);
    if (p) out.set(p, (out.get(p) ?? 0) + (deltas[i] ?? 0));
  });
  return out;
}

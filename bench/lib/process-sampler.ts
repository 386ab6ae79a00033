import { readFile } from 'node:fs/promises';

export interface ProcessSample {
  rssMiB: number;
  /** CPU time (user + system) since the process started, in seconds. */
  cpuS: number;
}

const CLOCK_TICKS = 100;
const PAGE_BYTES = 4096;

/** RSS and CPU time of any pid from /proc (Linux); null when the process is gone. */
export async function sampleProcess(pid: number): Promise<ProcessSample | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { rssMiB: (rssPages * PAGE_BYTES) / 1024 ** 2, cpuS: (utime + stime) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

export interface SamplerResult {
  peakRssMiB: number;
  /** Average CPU use over the sampled time, 1.0 = one core busy. */
  cpuCores: number;
}

/** Samples a pid every `everyMs` until stop(); reports peak RSS and average CPU. */
export function startSampler(pid: number, everyMs = 250): { stop(): Promise<SamplerResult> } {
  let peak = 0;
  let first: { at: number; cpuS: number } | null = null;
  let last: { at: number; cpuS: number } | null = null;
  const tick = async (): Promise<void> => {
    const s = await sampleProcess(pid);
    if (s === null) return;
    peak = Math.max(peak, s.rssMiB);
    last = { at: performance.now(), cpuS: s.cpuS };
    first ??= last;
  };
  void tick();
  const timer = setInterval(() => void tick(), everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await tick();
      const span = first && last ? (last.at - first.at) / 1_000 : 0;
      const cpu = first && last && span > 0 ? (last.cpuS - first.cpuS) / span : 0;
      return { peakRssMiB: peak, cpuCores: cpu };
    },
  };
}

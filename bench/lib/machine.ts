import { execFile } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import { mosquittoVersion } from './mosquitto.js';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  influxd: string;
  mosquitto: string;
}

export async function machineInfo(): Promise<MachineInfo> {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${process.platform} ${release()}`,
    node: process.version,
    influxd: await influxdVersion(),
    mosquitto: await mosquittoVersion(),
  };
}

function influxdVersion(): Promise<string> {
  return new Promise((resolve) => {
    execFile('influxd', ['version'], { timeout: 5_000 }, (_err, stdout) => {
      const match = /InfluxDB (v\S+)/.exec(stdout);
      resolve(match?.[1] ?? 'unknown');
    });
  });
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, InfluxDB ${m.influxd}, Mosquitto ${m.mosquitto}`;
}

/**
 * Issue 5, measurement 4: 10,000 concurrent station connections (quick: 1,000), each publishing once a
 * minute (spread evenly), for three minutes (quick: one) — resident memory and CPU of the gateway + server.
 * Goal ≤ 400 MB.
 *
 * The system runs as a child `frostwatch up` so its figures exclude the clients and InfluxDB (both run in
 * this process). Stations are registered straight into the registry beforehand (reported apart). Afterwards the
 * system is restarted and every station reconnects at once (issue 15: ≤ 30 s for 10,000; one scrypt per login
 * took 419 s before station tokens became keyed hashes).
 * Limits: needs `ulimit -n` above the station count (20,000 here) in this process and in the child; 10,000
 * client sockets use 10,000 of the 28,000 ephemeral ports of 127.0.0.1.
 */
import type { Bench, BenchOptions, BenchRow } from './types.js';
import { runFleetLoad } from './support/fleet-load.js';
import { runIfMain } from './support/entry.js';

export const bench: Bench = {
  id: 'connections',
  title: '10,000 concurrent station connections: memory and CPU',
  run: async ({ quick, progress }: BenchOptions): Promise<BenchRow[]> => {
    const stations = quick ? 1_000 : 10_000;
    const r = await runFleetLoad({
      stations,
      intervalMs: 60_000,
      durationMs: (quick ? 1 : 3) * 60_000,
      progress,
      bareAedesCeiling: true,
      reconnectAfterRestart: true,
    });
    const note = `${stations} stations, 1 reading/min each for ${quick ? 1 : 3} min; ${r.published} acknowledged, ${r.failed} failed, ${r.stored} stored`;
    return [
      {
        group: 4,
        name: `peak RSS, ${stations} connections`,
        value: Math.round(r.peakRssMb),
        unit: 'MB',
        goal: '≤ 400 MB',
        ratio: round2(r.peakRssMb / 400),
        note,
      },
      { group: 4, name: 'RSS before any connection', value: Math.round(r.idle.rssMb), unit: 'MB' },
      ...(r.bareAedes
        ? [
            {
              group: 4,
              name: `ceiling: bare Aedes, peak RSS with the same ${stations} connections`,
              value: Math.round(r.bareAedes.peakMb),
              unit: 'MB',
              note: `a process of its own, no hooks; ${Math.round(r.bareAedes.idleMb)} MB before any connection; each station publishes one reading`,
            },
            {
              group: 4,
              name: 'memory per connection: frostwatch / bare Aedes',
              value: Math.round(((r.peakRssMb - r.idle.rssMb) * 1_024) / stations),
              unit: 'KB',
              goal: `bare Aedes ${Math.round(((r.bareAedes.peakMb - r.bareAedes.idleMb) * 1_024) / stations)} KB`,
              ratio: round2((r.peakRssMb - r.idle.rssMb) / Math.max(1, r.bareAedes.peakMb - r.bareAedes.idleMb)),
            },
          ]
        : []),
      { group: 4, name: 'CPU while publishing', value: round1(r.cpuPct), unit: '% of a core' },
      { group: 4, name: `connect ${stations} stations (first login, 64 handshakes at a time)`, value: round1(r.connectS), unit: 's' },
      ...(r.reconnect
        ? [
            {
              group: 4,
              name: `all ${stations} stations logged in again after a restart, reconnecting at once`,
              value: round1(r.reconnect.seconds),
              unit: 's',
              goal: '≤ 30 s',
              ratio: round2(r.reconnect.seconds / 30),
              note: `a new frostwatch up on the same DATA_DIR (no token verified yet), 64 handshakes in flight (the gateway’s limit per address); ${round1(r.reconnect.cpuS)} s of CPU, peak RSS ${Math.round(r.reconnect.peakRssMb)} MB meanwhile`,
            },
          ]
        : []),
      { group: 4, name: `register ${stations} stations (setup, one at a time)`, value: round1(r.registerS), unit: 's' },
    ];
  },
};

const round1 = (x: number): number => Math.round(x * 10) / 10;
const round2 = (x: number): number => Math.round(x * 100) / 100;

await runIfMain(import.meta.url, bench);

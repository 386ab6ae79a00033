import { type StationId, StationIdSchema, systemClock } from '../../contracts/index.js';
import type { ServiceAccount } from '../../gateway/gateway.js';
import { type InProcessSystem, startInProcess } from '../support/system.js';

export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
export const SERVICE_ACCOUNT: ServiceAccount = { username: 'bench-service', password: 'bench-service-password-0123' };

export interface StationCredentials {
  stationId: StationId;
  token: string;
}

export interface BenchSystem extends InProcessSystem {
  /** Registers `count` stations `bench-0001…` and returns their MQTT credentials. */
  registerStations(count: number, lat?: number, lon?: number): Promise<StationCredentials[]>;
}

/**
 * The whole system in this process (bench/support/system.ts, through the server's own assembly), against an
 * InfluxDB the bench owns, on the wall clock. The gateway also knows a service account so a benchmark subscriber
 * may listen to all readings, as `frostwatch server` would.
 */
export async function startBenchSystem(influx: { url: string; database: string }, env: Record<string, string> = {}): Promise<BenchSystem> {
  const system = await startInProcess({
    clock: systemClock,
    influx,
    env: { ADMIN_TOKEN: BENCH_ADMIN_TOKEN, ...env },
    serviceAccount: SERVICE_ACCOUNT,
  });
  let registered = 0;
  return {
    ...system,
    registerStations: async (count, lat = 12.02, lon = 108.42) => {
      const out: StationCredentials[] = [];
      for (let i = 0; i < count; i += 1) {
        registered += 1;
        const stationId = StationIdSchema.parse(`bench-${String(registered).padStart(4, '0')}`);
        const created = await system.runtime.stations.create({
          id: stationId,
          name: `Bench ${registered}`,
          commune: 'Lát',
          lat,
          lon,
          elevationM: 1520,
          crop: 'arabica',
        });
        if (!created.ok) throw new Error(`could not register ${stationId}`);
        out.push({ stationId, token: created.token });
      }
      return out;
    },
  };
}

import type { Command } from 'commander';
import { SimEnvSchema, StationIdSchema, loadEnv } from '../../contracts/index.js';
import { readAdminToken } from '../admin-token.js';
import { fail, out } from '../output.js';

/**
 * `frostwatch model fit`: asks the running server (it holds the InfluxDB connection) to fit each station's
 * FFST minimum forecast on its own radiative nights and to use it from now on.
 */
export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('the minimum-temperature forecast (FAO FFST) of each station');
  model
    .command('fit')
    .description(
      "fit Tp = a·T₂ + b·Td₂ + c on a station's stored radiative nights (Snyder & de Melo-Abreu 2005) through the running server's API.\n" +
        'Reads: HTTP_PORT, ADMIN_TOKEN or DATA_DIR/admin-token.',
    )
    .option('--station <id>', 'one station (default: every station)')
    .option('--from <iso>', 'first night (default: 150 days ago)')
    .option('--to <iso>', 'last night (default: now)')
    .option('--api <url>', 'frostwatch HTTP API (default http://127.0.0.1:HTTP_PORT)')
    .action(async (opts: { station?: string; from?: string; to?: string; api?: string }) => {
      const env = loadEnv(SimEnvSchema, process.env);
      const apiUrl = opts.api ?? `http://127.0.0.1:${env.HTTP_PORT}`;
      const token = env.ADMIN_TOKEN ?? (await readAdminToken(env.DATA_DIR));
      const headers = { authorization: `Bearer ${token}` };
      if (opts.station !== undefined && !StationIdSchema.safeParse(opts.station).success)
        fail(`--station: invalid station id "${opts.station}"`);
      const ids = opts.station ? [opts.station] : await listStations(apiUrl, headers);
      let failures = 0;
      for (const id of ids) {
        const body = JSON.stringify({ ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}) });
        const res = await fetch(`${apiUrl}/api/stations/${id}/model`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body,
        });
        const answer = (await res.json()) as { a: number; b: number; c: number; nights: number; rmseC: number; message?: string };
        if (res.ok) {
          out(
            `${id.padEnd(16)} Tp = ${answer.a.toFixed(3)}·T₂ + ${answer.b.toFixed(3)}·Td₂ + ${answer.c.toFixed(2)}   ${answer.nights} nights, RMSE ${answer.rmseC.toFixed(2)} °C`,
          );
        } else {
          failures += 1;
          out(`${id.padEnd(16)} not fitted: ${answer.message ?? res.status}`);
        }
      }
      if (failures > 0) process.exitCode = 2;
    });
}

async function listStations(apiUrl: string, headers: Record<string, string>): Promise<string[]> {
  const res = await fetch(`${apiUrl}/api/stations`, { headers });
  if (!res.ok) fail(`listing stations: HTTP ${res.status}`);
  return ((await res.json()) as Array<{ id: string }>).map((s) => s.id);
}

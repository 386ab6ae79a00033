import type { Command } from 'commander';
import { SimEnvSchema, loadEnv, anchoredClock, isHeldClock } from '../../contracts/index.js';
import { type SimStationSpec, toStationCreate } from '../../firmware-sim/index.js';
import { readAdminToken } from '../admin-token.js';
import { apiRequest } from '../api-request.js';
import { untilSignal } from '../lifecycle.js';
import { createLogger } from '../logger.js';
import { fail, out } from '../output.js';
import { type SimOptions, addSimOptions, checkSimOptions, simClock, startFleet } from '../sim-options.js';
import { loadTrustedCas } from '../tls-files.js';

interface SimCommandOptions extends SimOptions {
  stations: number;
  mqttUrl?: string;
  api?: string;
}

export function registerSimCommand(program: Command): void {
  const command = program
    .command('sim')
    .description(
      'run a simulated fleet against a running frostwatch: registers its stations through the HTTP API (admin token from ' +
        'ADMIN_TOKEN or DATA_DIR/admin-token) and publishes like real devices.\n' +
        'Reads: MQTT_PORT, HTTP_PORT, ADMIN_TOKEN, DATA_DIR, TLS_CA_FILE (a private CA for mqtts:// and https://), TZ_NAME, LOG_LEVEL.',
    )
    .option('--stations <n>', 'how many stations', Number, 20)
    .option('--mqtt-url <url>', 'broker (default mqtt://127.0.0.1:MQTT_PORT)')
    .option('--api <url>', 'frostwatch HTTP API (default http://127.0.0.1:HTTP_PORT)');
  addSimOptions(command).action(async (opts: SimCommandOptions) => {
    const env = loadEnv(SimEnvSchema, process.env);
    checkSimOptions(opts);
    if (!Number.isInteger(opts.stations) || opts.stations < 1 || opts.stations > 10_000)
      fail(`--stations: 1 to 10000 (got "${opts.stations}")`);
    const ca = await loadTrustedCas(env);
    const logger = createLogger(env.LOG_LEVEL);
    const apiUrl = opts.api ?? `http://127.0.0.1:${env.HTTP_PORT}`;
    const adminToken = env.ADMIN_TOKEN ?? (await readAdminToken(env.DATA_DIR));
    // SIM_CLOCK: on the time line the cluster it drives shares (docs/scale-out.md); else --start/--speed from now.
    const clock = env.SIM_CLOCK ? anchoredClock(env.SIM_CLOCK) : simClock(opts, env.TZ_NAME);
    if (isHeldClock(clock)) clock.release(); // the server runs elsewhere on its own clock: this time line starts at once
    const fleet = await startFleet({
      count: opts.stations,
      opts,
      brokerUrl: opts.mqttUrl ?? `mqtt://127.0.0.1:${env.MQTT_PORT}`,
      ca,
      clock,
      timeZone: env.TZ_NAME,
      logger,
      credentials: (spec) => registerThroughApi(apiUrl, adminToken, spec, ca),
    });
    out(`Simulating ${opts.stations} stations (${opts.scenario}, ×${opts.speed}, seed ${opts.seed}). Stop with Ctrl+C.`);
    await untilSignal(logger);
    await fleet.stop();
    logger.flush();
  });
}

/** Register the station, or re-key it when it exists already; returns its MQTT password. */
async function registerThroughApi(apiUrl: string, adminToken: string, spec: SimStationSpec, ca: string[] | undefined): Promise<string> {
  const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const created = await apiRequest(`${apiUrl}/api/stations`, { method: 'POST', headers, body: JSON.stringify(toStationCreate(spec)) }, ca);
  if (created.status === 201) return (JSON.parse(created.text) as { token: string }).token;
  if (created.status !== 409) fail(`registering ${spec.id}: HTTP ${created.status} ${created.text}`);
  const rotated = await apiRequest(
    `${apiUrl}/api/stations/${spec.id}/token`,
    { method: 'POST', headers: { authorization: headers.authorization } },
    ca,
  );
  if (rotated.status !== 200) fail(`re-keying ${spec.id}: HTTP ${rotated.status} ${rotated.text}`);
  return (JSON.parse(rotated.text) as { token: string }).token;
}

import type { Command } from 'commander';
import type { Logger } from 'pino';
import { UpEnvSchema, anchoredClock, isHeldClock, loadEnv, type UpEnv } from '../../contracts/index.js';
import { toStationCreate } from '../../firmware-sim/index.js';
import { type BoundPorts, listenOptionsFromEnv } from '../../gateway/gateway.js';
import type { TlsCredentials } from '../../gateway/tls.js';
import { trafficLimitsFromEnv } from '../../gateway/limits.js';
import { type AssembledServer, assembleServer } from '../../server/assemble.js';
import { gatewayEdge } from '../../server/broker-edge.js';
import { dataPaths } from '../../server/paths.js';
import { influxEndpoint } from '../influx.js';
import { type Stoppable, closeInOrder, untilSignal } from '../lifecycle.js';
import { createLogger } from '../logger.js';
import { loadTlsCredentials } from '../tls-files.js';
import { out } from '../output.js';
import { type SimOptions, addSimOptions, checkSimOptions, simClock, startFleet } from '../sim-options.js';
import { cloudyWeather, frostyWeather, startOpenMeteoServer } from '../../firmware-sim/forecast-server.js';

const FORECAST_WEATHER = { frosty: frostyWeather, cloudy: cloudyWeather } as const;
import { applyHeapPolicy } from '../../server/heap-policy.js';

interface UpOptions extends SimOptions {
  sim: number;
  logFile?: boolean;
  forecastSim?: string;
}

export function registerUpCommand(program: Command): void {
  const command = program
    .command('up')
    .description(
      'run everything in one process: MQTT gateway, ingest, HTTP API, and a managed local InfluxDB unless INFLUX_URL is set.\n' +
        'Reads: HOST, MQTT_PORT, MQTT_WS_PORT, MQTT_MAX_CONNECTIONS, MQTT_MAX_PUBLISH_PER_S, MQTT_PROXY_PROTOCOL, HTTP_PORT, HTTP_TRUSTED_PROXIES, DATA_DIR, INFLUX_*, ADMIN_TOKEN, SPOOL_MAX_MB, TZ_NAME, TTS_* (The Things Stack, docs/devices.md), FORECAST_URL, QUIET_HOURS, SMS_REPLIES, SURVEY_CALLS, SAMPLING_FAST_S, SAMPLING_RELAXED_S, SIM_CLOCK (wins over --start/--speed), LOG_LEVEL, HEAP_POLICY.',
    )
    .option('--sim <n>', 'also run N simulated stations (registered automatically)', Number, 0)
    .option('--log-file', 'write logs to DATA_DIR/frostwatch.log instead of stdout (default when --sim runs on a terminal)')
    .option(
      '--forecast-sim <weather>',
      'serve a local Open-Meteo-compatible forecast (frosty | cloudy) and use it as FORECAST_URL: the pre-alert without the internet (demo)',
    );
  addSimOptions(command).action(async (opts: UpOptions) => {
    const env = loadEnv(UpEnvSchema, process.env);
    applyHeapPolicy(env.HEAP_POLICY);
    const tls = await loadTlsCredentials(env);
    if (!Number.isInteger(opts.sim) || opts.sim < 0 || opts.sim > 10_000) throw new Error(`--sim: 0 to 10000 stations (got "${opts.sim}")`);
    checkSimOptions(opts);
    if (opts.forecastSim !== undefined && !(opts.forecastSim in FORECAST_WEATHER))
      throw new Error(`--forecast-sim: frosty or cloudy (got "${opts.forecastSim}")`);
    const toFile = opts.logFile ?? (opts.sim > 0 && (process.stdout.isTTY as boolean | undefined) === true);
    const logger = createLogger(env.LOG_LEVEL, toFile ? dataPaths(env.DATA_DIR).log : undefined);
    await runUp(env, opts, logger, tls);
  });
}

async function runUp(env: UpEnv, opts: UpOptions, logger: Logger, tls: TlsCredentials | null): Promise<void> {
  // SIM_CLOCK: the time line a test or a cluster shares (docs/scale-out.md); else --start/--speed, held until the system is up.
  const clock = env.SIM_CLOCK ? anchoredClock(env.SIM_CLOCK) : simClock(opts, env.TZ_NAME);
  const parts: Stoppable[] = [];
  const stopAll = () => closeInOrder([...parts].reverse(), logger);
  try {
    if (!env.INFLUX_URL) out('Starting the local InfluxDB (influxd)…');
    const influx = await influxEndpoint(env, logger);
    parts.push({ name: 'influxd', close: () => influx.stop() });
    let settings = env;
    if (opts.forecastSim !== undefined) {
      const forecast = await startOpenMeteoServer({ weather: FORECAST_WEATHER[opts.forecastSim as keyof typeof FORECAST_WEATHER] });
      parts.push({ name: 'forecast stand-in', close: () => forecast.close() });
      settings = { ...env, FORECAST_URL: forecast.url };
      out(`Forecast: a local Open-Meteo stand-in (${opts.forecastSim}) at ${forecast.url}`);
    }
    const server = await assembleServer({
      settings,
      influxUrl: influx.url,
      logger,
      clock,
      tls,
      edge: gatewayEdge({
        ...(tls ? { tls } : {}),
        trafficLimits: trafficLimitsFromEnv(env, opts.sim),
        proxyProtocol: env.MQTT_PROXY_PROTOCOL === 'on',
        listen: listenOptionsFromEnv(env),
      }),
    });
    // The server closes its gateway first (no new publishes), then drains the spool.
    parts.push({ name: 'server', close: () => server.close() });
    await server.listen();
    const ports = server.edge?.ports;
    if (!ports) throw new Error('the gateway did not bind its ports');
    printBanner(env, server, ports, influx.url);
    // The simulated time line starts now that everything listens: --start is the first moment the system sees.
    if (isHeldClock(clock)) clock.release();

    if (opts.sim > 0) {
      const fleet = await startFleet({
        count: opts.sim,
        opts,
        brokerUrl: `mqtt://127.0.0.1:${ports.mqttPort}`,
        clock,
        timeZone: env.TZ_NAME,
        logger: logger.child({ module: 'sim' }),
        credentials: (spec) => simCredentials(server, spec),
      });
      parts.push({ name: 'simulator', close: () => fleet.stop() });
      out(`Simulating ${opts.sim} stations (${opts.scenario}, ×${opts.speed}, seed ${opts.seed}).`);
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  await untilSignal(logger);
  // Reverse of start-up = the order data flows: simulator, server (its gateway first: no new publishes; then the spool), influxd.
  await stopAll();
  logger.flush();
}

/** Simulated stations are registered on first use; on later starts they get a fresh token (only hashes are kept). */
async function simCredentials(runtime: AssembledServer, spec: Parameters<typeof toStationCreate>[0]): Promise<string> {
  const created = await runtime.stations.create(toStationCreate(spec));
  if (created.ok) return created.token;
  const rotated = await runtime.stations.rotateToken(spec.id);
  if (rotated === null) throw new Error(`could not register simulated station ${spec.id}`);
  return rotated;
}

function printBanner(env: UpEnv, runtime: AssembledServer, ports: BoundPorts, influxUrl: string): void {
  const lines = [
    '',
    'frostwatch is up.',
    `  Dashboard        ${runtime.url}/`,
    `  API docs         ${runtime.url}/docs`,
    `  Health           ${runtime.url}/health`,
    `  MQTT             mqtt://${env.MQTT_HOST ?? env.HOST}:${ports.mqttPort}   (WebSocket ${ports.mqttTlsPort === null ? 'ws' : 'wss'}://${env.HOST}:${ports.wsPort})`,
    ...(ports.mqttTlsPort === null ? [] : [`  MQTT over TLS    mqtts://${env.HOST}:${ports.mqttTlsPort}`]),
    `  InfluxDB         ${influxUrl}  database "${env.INFLUX_BUCKET}"`,
    `  Data             ${env.DATA_DIR}`,
  ];
  if (runtime.bootstrapUser) {
    lines.push(
      `  Sign in          ${runtime.bootstrapUser.username} / ${runtime.bootstrapUser.password}   (shown once; kept in ${env.DATA_DIR}/admin-password)`,
    );
  }
  if (runtime.adminToken.generated)
    lines.push(`  Admin token      ${runtime.adminToken.token}   (shown once; kept in ${env.DATA_DIR}/admin-token)`);
  else lines.push(`  Admin token      in ${env.ADMIN_TOKEN ? 'ADMIN_TOKEN' : `${env.DATA_DIR}/admin-token`}`);
  lines.push('Stop with Ctrl+C.', '');
  out(lines.join('\n'));
}

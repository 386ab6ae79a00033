import { request as httpRequest, type IncomingMessage } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Clock, StationCreateSchema, StationIdSchema, StationOverviewSchema } from '../../contracts/index.js';
import { type AssembledServer, assembleServer } from '../../server/assemble.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';

const ADMIN = 'dashboard-runtime-admin-token-01';
const NOW = Date.UTC(2026, 0, 15, 14, 0); // 21:00 in Lạc Dương
const clock: Clock = { now: () => NOW, speed: 1 };

let influx: TestInfluxd;
let dir: string;
let runtime: AssembledServer;

beforeAll(async () => {
  influx = await startTestInfluxd({ database: 'frostwatch_dashboard_rt' });
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-dashboard-rt-'));
  runtime = await assembleServer({
    settings: {
      DATA_DIR: dir,
      HOST: '127.0.0.1',
      HTTP_PORT: 0,
      ADMIN_TOKEN: ADMIN,
      INFLUX_TOKEN: undefined,
      INFLUX_ORG: undefined,
      INFLUX_BUCKET: influx.database,
      SPOOL_MAX_MB: 64,
      RULE_ENGINE: 'inline', // the clock stands still: the engine runs on this thread, on it
      TZ_NAME: 'Asia/Ho_Chi_Minh',
      PUBLIC_URL: undefined,
      TWILIO_ACCOUNT_SID: undefined,
      TWILIO_AUTH_TOKEN: undefined,
      TWILIO_FROM: undefined,
      TWILIO_MESSAGING_SERVICE_SID: undefined,
      TWILIO_API_URL: 'http://127.0.0.1:9',
      SMS_SEGMENTS_PER_S: 1,
      SMS_SEGMENT_COST_USD: 0.08,
      VOICE_ACK_TIMEOUT_S: 600,
    },
    influxUrl: influx.url,
    logger: pino({ level: 'silent' }),
    clock,
  });
  await runtime.listen();
  await runtime.stations.create(
    StationCreateSchema.parse({ id: 'ld-rt-01', name: 'Lát 1', commune: 'Lát', lat: 12.03, lon: 108.4, elevationM: 1_520 }),
  );
});

afterAll(async () => {
  // Also runs when beforeAll failed part-way, before these were assigned.
  await (runtime as AssembledServer | undefined)?.close();
  await (influx as TestInfluxd | undefined)?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('a durable reading reaches the event stream and the overview; closing the runtime ends the stream', async () => {
  const url = new URL('/api/events', runtime.url);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    httpRequest(url, { headers: { authorization: `Bearer ${ADMIN}` } }, resolve)
      .on('error', reject)
      .end();
  });
  expect(res.statusCode).toBe(200);
  let text = '';
  const station = new Promise<string>((resolve) => {
    res.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const match = /event: station\ndata: (.*)\n\n/.exec(text);
      if (match) resolve(match[1]!);
    });
  });
  const ended = new Promise<void>((resolve) => res.once('end', resolve));

  await runtime.sink.acceptReadings(StationIdSchema.parse('ld-rt-01'), [{ ts: NOW - 30_000, airTempC: 3.2, rhPct: 88, batteryV: 3.9 }]);
  const overview = StationOverviewSchema.parse(JSON.parse(await station));
  expect(overview).toMatchObject({ id: 'ld-rt-01', online: true, lastSeenAt: new Date(NOW).toISOString() });

  const list = await fetch(new URL('/api/overview', runtime.url), { headers: { authorization: `Bearer ${ADMIN}` } });
  expect(
    StationOverviewSchema.array()
      .parse(await list.json())
      .map((s) => s.id),
  ).toEqual(['ld-rt-01']);

  await runtime.close();
  await ended;
});

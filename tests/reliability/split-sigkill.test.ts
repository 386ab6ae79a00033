import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawFor } from '../../firmware-sim/random.js';
import { queryReadings } from '../../server/influx/readings-query.js';
import { type AckedPublisher, startAckedPublisher } from '../helpers/acked-publisher.js';
import { eventually } from '../helpers/mqtt.js';
import { type SplitDeployment, addStation, startSplitDeployment } from '../helpers/split-deployment.js';

/** At least 10 rounds per process with FROSTWATCH_LONG_TESTS=1; 3 by default. */
const ROUNDS = process.env['FROSTWATCH_LONG_TESTS'] === '1' ? 10 : 3;
const SEED = 6;
const STATIONS = ['ld-split-a', 'ld-split-b'];

/**
 * The split deployment (`frostwatch gateway` + `frostwatch server` consuming from it) with SIGKILLs at seeded
 * random moments while stations publish QoS 1: every reading a station saw acknowledged ends up in InfluxDB,
 * whichever process died, and publishing resumes within seconds of the restart.
 */
describe('split deployment: SIGKILL of the gateway, then of the server, while stations publish', () => {
  let split: SplitDeployment;
  let publishers: AckedPublisher[] = [];

  beforeAll(async () => {
    split = await startSplitDeployment();
  });
  afterAll(async () => {
    await Promise.all(publishers.map((p) => p.close()));
    // Also runs when beforeAll failed part-way, before this was assigned.
    await (split as SplitDeployment | undefined)?.stop();
  });

  it(
    `loses no acknowledged reading over ${ROUNDS} gateway kills and ${ROUNDS} server kills`,
    { timeout: 60_000 + ROUNDS * 30_000 },
    async () => {
      const baseMs = Date.now() - 6 * 3_600_000;
      const tokens = await Promise.all(STATIONS.map((id) => addStation(split.dataDir, id)));
      await split.serverConsuming();
      publishers = STATIONS.map((id, i) => startAckedPublisher({ url: split.mqttUrl, stationId: id, token: tokens[i] ?? '', baseMs }));
      // Steady state first, for the report: how fast readings are acknowledged when nothing fails.
      await Promise.all(publishers.map((p) => p.nextAckAfter(0, 20_000)));
      const steadyFrom = publishers.reduce((n, p) => n + p.acked.size, 0);
      await new Promise((r) => setTimeout(r, 3_000));
      const steadyPerS = Math.round((publishers.reduce((n, p) => n + p.acked.size, 0) - steadyFrom) / 3);
      const draw = drawFor('split-sigkill', SEED);
      const recoveries: Record<'gateway' | 'server', number[]> = { gateway: [], server: [] };

      for (const target of ['gateway', 'server'] as const) {
        for (let round = 0; round < ROUNDS; round++) {
          await new Promise((r) => setTimeout(r, draw.between(200, 1_500)));
          const killedAt = performance.now();
          await (target === 'gateway' ? split.gateway : split.server).kill('SIGKILL');
          await (target === 'gateway' ? split.startGateway() : split.startServer());
          const acks = await Promise.all(publishers.map((p) => p.nextAckAfter(performance.now(), 30_000)));
          recoveries[target].push(Math.round(Math.max(...acks) - killedAt));
        }
      }
      await Promise.all(publishers.map((p) => p.finish()));
      console.info(
        `split steady state: ${steadyPerS} acknowledged readings/s from ${STATIONS.length} stations; SIGKILL recovery (kill → next PUBACK of every station), ms: ${JSON.stringify(recoveries)}; ` +
          `acked ${publishers.map((p) => `${p.stationId}=${p.acked.size}/${p.sent()}`).join(' ')}`,
      );

      for (const p of publishers) {
        await eventually(async () => {
          const stored = await queryReadings(split.influx.conn, p.stationId, { fromMs: baseMs, toMs: baseMs + p.sent() * 1_000 });
          const storedSeqs = new Set(stored.map((r) => r.seq));
          const lost = [...p.acked.keys()].filter((seq) => !storedSeqs.has(seq)).sort((a, b) => a - b);
          expect({ station: p.stationId, lost: lost.length, first: lost.slice(0, 10) }).toEqual({
            station: p.stationId,
            lost: 0,
            first: [],
          });
        }, 30_000);
      }
      // Recovery within seconds: the restart itself (a Node process start) plus a reconnect.
      for (const ms of [...recoveries.gateway, ...recoveries.server]) expect(ms).toBeLessThan(15_000);
    },
  );

  it('/ready and /health name the broker while the gateway is down, and recover with it', { timeout: 60_000 }, async () => {
    await split.serverConsuming();
    await split.gateway.kill('SIGKILL');
    await eventually(async () => {
      const ready = await fetch(`${split.httpUrl}/ready`);
      expect({ status: ready.status, body: await ready.json() }).toMatchObject({
        status: 503,
        body: { ready: false, failing: ['broker'] },
      });
    }, 10_000);
    const health = await fetch(`${split.httpUrl}/health`);
    expect({ status: health.status, body: await health.json() }).toMatchObject({
      status: 200,
      body: { status: 'degraded', checks: { broker: { ok: false } } },
    });
    await split.startGateway();
    await eventually(async () => expect((await fetch(`${split.httpUrl}/ready`)).status).toBe(200), 15_000);
  });
});

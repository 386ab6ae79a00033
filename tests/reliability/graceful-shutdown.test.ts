import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type ManagedInfluxd, startManagedInfluxd } from '../../server/influx/managed-influxd.js';
import { queryReadings } from '../../server/influx/readings-query.js';
import { type AckedPublisher, startAckedPublisher } from '../helpers/acked-publisher.js';
import { eventually } from '../helpers/mqtt.js';
import { type SystemUnderTest, registerStation, startSystem } from '../helpers/system-under-test.js';

/** systemd's TimeoutStopSec in docs/operations.md is 40 s; shutdown must fit well inside it. */
const EXIT_BOUND_MS = 30_000;

/** The parts `frostwatch up` reported closed (LOG_LEVEL=debug), in order. */
function closedParts(output: string): string[] {
  return output.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    const entry = JSON.parse(line) as { msg?: string; part?: string };
    return entry.msg === 'closed' && entry.part !== undefined ? [entry.part] : [];
  });
}

async function spoolBytes(dataDir: string): Promise<number> {
  const dir = join(dataDir, 'spool');
  let total = 0;
  for (const name of await readdir(dir)) if (name.endsWith('.lp')) total += (await stat(join(dir, name))).size;
  return total;
}

/**
 * SIGTERM of `frostwatch up` while a station publishes: intake closes first, then the server; it exits 0 within the
 * bound; with InfluxDB up every acknowledged reading is in InfluxDB when the process is gone; with InfluxDB down
 * they stay in the spool and arrive after the next start.
 */
describe('graceful shutdown of frostwatch up in the middle of publishing', () => {
  let sut: SystemUnderTest | undefined;
  let publisher: AckedPublisher | undefined;
  let revived: ManagedInfluxd | undefined;
  afterEach(async () => {
    await publisher?.close();
    await revived?.stop();
    await sut?.stop();
    sut = publisher = revived = undefined;
  });

  async function publishThenTerm(system: SystemUnderTest, id: string): Promise<{ baseMs: number; exitMs: number; code: number | string }> {
    const token = await registerStation(system, id);
    const baseMs = Date.now() - 2 * 3_600_000;
    publisher = startAckedPublisher({ url: system.mqttUrl, stationId: id, token, baseMs });
    await eventually(() => expect(publisher!.acked.size).toBeGreaterThan(200), 20_000);
    const termAt = performance.now();
    system.fw.proc.kill('SIGTERM');
    const code = await system.fw.exited;
    const exitMs = Math.round(performance.now() - termAt);
    await publisher.close();
    return { baseMs, exitMs, code };
  }

  it('InfluxDB up: exits 0 in order, and everything acknowledged is already in InfluxDB', { timeout: 90_000 }, async () => {
    sut = await startSystem({ LOG_LEVEL: 'debug' });
    const { baseMs, exitMs, code } = await publishThenTerm(sut, 'ld-term-a');
    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(EXIT_BOUND_MS);
    const parts = closedParts(sut.fw.output());
    expect(parts.indexOf('gateway')).toBeLessThan(parts.indexOf('server'));
    const stored = new Set((await queryReadings(sut.influx.conn, 'ld-term-a', { fromMs: baseMs, toMs: Date.now() })).map((r) => r.seq));
    expect([...publisher!.acked.keys()].filter((seq) => !stored.has(seq))).toEqual([]);
    console.info(
      `SIGTERM with InfluxDB up: exit ${code} after ${exitMs} ms, ${publisher!.acked.size} acknowledged, all in InfluxDB at exit; closed in order ${parts.join(' → ')}`,
    );
  });

  it('InfluxDB down: exits 0, the spool keeps what was acknowledged, the next start delivers it', { timeout: 120_000 }, async () => {
    const system = await startSystem();
    sut = system;
    const port = Number(new URL(system.influx.url).port);
    await system.influx.influxd.stop();
    const { baseMs, exitMs, code } = await publishThenTerm(system, 'ld-term-b');
    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(EXIT_BOUND_MS);
    expect(await spoolBytes(system.dataDir)).toBeGreaterThan(0);

    revived = await startManagedInfluxd({
      dataDir: system.influx.dataDir,
      port,
      logger: pino({ level: 'silent' }),
      installIfMissing: false,
    });
    await system.restart();
    const acked = [...publisher!.acked.keys()];
    await eventually(async () => {
      const stored = new Set(
        (await queryReadings(system.influx.conn, 'ld-term-b', { fromMs: baseMs, toMs: Date.now() })).map((r) => r.seq),
      );
      expect(acked.filter((seq) => !stored.has(seq))).toEqual([]);
    }, 60_000);
    console.info(
      `SIGTERM with InfluxDB down: exit ${code} after ${exitMs} ms, ${acked.length} acknowledged readings kept in the spool and stored after the restart`,
    );
  });
});

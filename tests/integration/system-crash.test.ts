import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readingsTopic, type StationId } from '../../contracts/index.js';
import { eventually } from '../helpers/mqtt.js';
import { type SystemUnderTest, readingsOf, registerStation, startSystem } from '../helpers/system-under-test.js';

/**
 * At-least-once across a crash: the server process is killed with SIGKILL (no shutdown code runs) while a
 * station publishes QoS 1; after a restart, every reading the station saw acknowledged is in InfluxDB.
 */
describe('SIGKILL of the server while a station publishes', () => {
  let sut: SystemUnderTest;
  let client: MqttClient | undefined;

  beforeAll(async () => {
    sut = await startSystem();
  });
  afterAll(async () => {
    client?.end(true);
    // Also runs when beforeAll failed part-way, before this was assigned.
    await (sut as SystemUnderTest | undefined)?.stop();
  });

  it('loses no acknowledged reading over two kill-and-restart rounds', async () => {
    const token = await registerStation(sut, 'ld-k');
    client = mqtt.connect(sut.mqttUrl, {
      username: 'ld-k',
      password: token,
      clientId: 'ld-k',
      clean: false,
      reconnectPeriod: 100,
      protocolVersion: 4,
    });
    const base = Date.now() - 3 * 3_600_000;
    const total = 900;
    const acked = new Set<number>();
    let sent = 0;
    const topic = readingsTopic('ld-k' as StationId);
    const station = client;
    // A station with a window of 16 unacknowledged publishes, as the simulator and real firmware do.
    const publishAll = new Promise<void>((resolve) => {
      const next = (): void => {
        if (sent >= total) return;
        const seq = sent++;
        station.publish(topic, JSON.stringify({ ts: base + seq * 1_000, airTempC: 3 - seq / 1_000, seq }), { qos: 1 }, (err) => {
          if (!err) acked.add(seq);
          if (acked.size === total) resolve();
          next();
        });
      };
      for (let i = 0; i < 16; i++) next();
    });

    for (const killAfter of [250, 550]) {
      await eventually(() => expect(acked.size).toBeGreaterThanOrEqual(killAfter), 30_000);
      await sut.fw.kill('SIGKILL');
      await sut.restart();
    }
    await publishAll;

    await eventually(async () => {
      const stored = await readingsOf(sut, 'ld-k', base, base + total * 1_000);
      const storedSeqs = new Set(stored.map((r) => r.seq));
      const missing = [...acked].filter((seq) => !storedSeqs.has(seq));
      expect(missing).toEqual([]);
      expect(stored).toHaveLength(total); // and each stored once
    }, 30_000);
  });
});

import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readingsTopic, type StationId } from '../../contracts/index.js';
import { closeClients, connackCode, connectStation, eventually, mosquittoPub } from '../helpers/mqtt.js';
import {
  ADMIN_TOKEN,
  type SystemUnderTest,
  influxCli,
  metricFrom,
  metricsText,
  readingsOf,
  registerStation,
  startSystem,
} from '../helpers/system-under-test.js';

/**
 * The spine, end to end on real components: `frostwatch up` (a real process, real Aedes, real spool) →
 * a real influxd → back out through the HTTP API and Debian's `influx` CLI.
 */
describe('stations to InfluxDB, end to end', () => {
  let sut: SystemUnderTest;
  const tokens: Record<string, string> = {};
  const minute = 60_000;
  const base = Math.floor(Date.now() / minute) * minute - 6 * 3_600_000;

  beforeAll(async () => {
    sut = await startSystem();
    for (const id of ['ld-a', 'ld-b', 'ld-c']) tokens[id] = await registerStation(sut, id);
  });
  afterAll(async () => {
    // Also runs when beforeAll failed part-way, before this was assigned.
    await (sut as SystemUnderTest | undefined)?.stop();
  });

  it('stores a reading sent with mosquitto_pub -q 1, readable through the API and the influx CLI', async () => {
    const ts = base + 5 * minute + 123;
    const payload = JSON.stringify({ ts, airTempC: 1.4, rhPct: 92.5, seq: 7 });
    const pub = await mosquittoPub([
      '-h',
      '127.0.0.1',
      '-p',
      String(sut.ports.mqtt),
      '-u',
      'ld-a',
      '-P',
      tokens['ld-a']!,
      '-q',
      '1',
      '-t',
      'stations/ld-a/readings',
      '-m',
      payload,
    ]);
    expect(pub).toEqual({ code: 0, stderr: '' });

    await eventually(async () => {
      const readings = await readingsOf(sut, 'ld-a', ts - minute, ts + minute);
      expect(readings).toEqual([expect.objectContaining({ ts: new Date(ts).toISOString(), airTempC: 1.4, rhPct: 92.5, seq: 7 })]);
    });
    const rows = await influxCli(sut.influx, `SELECT "airTempC" FROM "readings" WHERE "station" = 'ld-a' AND time = ${ts}ms`);
    expect(rows).toEqual([[ts, 1.4]]);
  });

  it('keeps the original timestamps of a backfill batch and stores a resent batch once', async () => {
    const client = await connectStation(sut.mqttUrl, 'ld-b', tokens['ld-b']!);
    const batch = Array.from({ length: 30 }, (_, i) => ({ ts: base + i * minute, airTempC: 5 - i * 0.1, seq: 100 + i }));
    await client.publishAsync(readingsTopic('ld-b' as StationId), JSON.stringify(batch), { qos: 1 });
    await client.publishAsync(readingsTopic('ld-b' as StationId), JSON.stringify(batch), { qos: 1 }); // a lost PUBACK: resent
    await closeClients(client);

    await eventually(async () => {
      const readings = await readingsOf(sut, 'ld-b', base - minute, base + 40 * minute);
      expect(readings.map((r) => r.ts)).toEqual(batch.map((r) => new Date(r.ts).toISOString()));
      expect(readings.map((r) => r.airTempC)).toEqual(batch.map((r) => r.airTempC));
    });
  });

  it('refuses a wrong password and an unknown station at CONNECT', async () => {
    expect(await connackCode(sut.mqttUrl, 'ld-a', 'not-the-token')).toBe(4);
    expect(await connackCode(sut.mqttUrl, 'ld-nobody', 'whatever')).toBe(5);
    const pub = await mosquittoPub([
      '-h',
      '127.0.0.1',
      '-p',
      String(sut.ports.mqtt),
      '-u',
      'ld-a',
      '-P',
      'wrong',
      '-q',
      '1',
      '-t',
      'stations/ld-a/readings',
      '-m',
      '{}',
    ]);
    expect(pub.code).not.toBe(0);
  });

  it("drops a publish under another station's topic and stores nothing for that station", async () => {
    const client = await connectStation(sut.mqttUrl, 'ld-a', tokens['ld-a']!);
    await client.publishAsync(readingsTopic('ld-c' as StationId), JSON.stringify({ ts: base + minute, airTempC: -5 }), { qos: 1 });
    const marker = base + 2 * minute;
    await client.publishAsync(readingsTopic('ld-a' as StationId), JSON.stringify({ ts: marker, airTempC: 3 }), { qos: 1 });
    expect(client.connected).toBe(true);
    await closeClients(client);
    // The marker went through the same pipeline after the forged one; once it is stored, the forged one would be too.
    await eventually(async () => expect(await readingsOf(sut, 'ld-a', marker - 1, marker + 1)).toHaveLength(1));
    expect(await readingsOf(sut, 'ld-c', base - 3_600_000, Date.now())).toEqual([]);
    expect(metricFrom(await metricsText(sut), 'frostwatch_gateway_rejected_total', { reason: 'forbidden_topic' })).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('rejects each kind of bad payload by reason while a valid station publishing at the same time loses nothing', async () => {
    const before = await metricsText(sut);
    const honest = await connectStation(sut.mqttUrl, 'ld-c', tokens['ld-c']!);
    const honestTs = Array.from({ length: 200 }, (_, i) => base + 60 * minute + i * 1_000);
    const honestDone = Promise.all(
      honestTs.map((ts, seq) =>
        honest.publishAsync(readingsTopic('ld-c' as StationId), JSON.stringify({ ts, airTempC: 2, seq }), { qos: 1 }),
      ),
    );

    const bad = await connectStation(sut.mqttUrl, 'ld-a', tokens['ld-a']!);
    const topic = readingsTopic('ld-a' as StationId);
    const cases: Array<[string, string]> = [
      ['bad_json', '{"ts": 1, "airTempC": '],
      ['wrong_type', JSON.stringify({ ts: base, airTempC: 'cold' })],
      ['non_finite', `{"ts": ${base}, "airTempC": 1e999}`],
      ['missing_field', JSON.stringify({ ts: base })],
      ['too_large', JSON.stringify({ ts: base, airTempC: 1, pad: 'x'.repeat(300_000) })],
    ];
    for (const [, payload] of cases) await bad.publishAsync(topic, payload, { qos: 1 });
    expect(bad.connected).toBe(true);
    // A 1 MB packet is beyond what any honest station sends: the gateway closes that connection before buffering it.
    const huge = mqtt.connect(sut.mqttUrl, { username: 'ld-a', password: tokens['ld-a']!, reconnectPeriod: 0 });
    await new Promise<void>((resolve) => huge.on('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => huge.on('close', () => resolve()));
    huge.publish(topic, Buffer.alloc(1024 * 1024, 0x20), { qos: 1 });
    await closed;
    huge.end(true);

    await honestDone;
    await closeClients(honest, bad);
    const after = await metricsText(sut);
    for (const [reason] of cases) {
      const delta =
        metricFrom(after, 'frostwatch_gateway_rejected_total', { reason }) -
        metricFrom(before, 'frostwatch_gateway_rejected_total', { reason });
      expect({ reason, delta: delta >= 1 }).toEqual({ reason, delta: true });
    }
    await eventually(async () => {
      const stored = await readingsOf(sut, 'ld-c', honestTs[0]!, honestTs.at(-1)!);
      expect(stored.map((r) => r.seq)).toEqual(honestTs.map((_, seq) => seq));
    });
    const health = await (await fetch(`${sut.httpUrl}/health`)).json();
    expect(health).toMatchObject({ status: 'ok' });
  });

  it('serves the warning side of the API: farmers, alerts, station rules and the model fit', async () => {
    // The protocol's reading body (docs/protocol.md), with a Vietnamese local phone form.
    const farmer = await sut.api.post('/api/farmers', {
      name: 'Nguyễn Thị Mai',
      phone: '0912 345 679',
      language: 'vi',
      stationIds: ['ld-a'],
    });
    expect(farmer).toMatchObject({ status: 201, body: { id: expect.any(Number) as unknown, phone: '+84912345679' } });
    expect((await sut.api.post('/api/farmers', { name: 'X', phone: '12', language: 'vi', stationIds: ['ld-a'] })).status).toBe(400);

    expect(await sut.api.get('/api/alerts')).toMatchObject({ status: 200, body: expect.any(Array) as unknown });
    expect((await sut.api.post('/api/alerts/999999/ack')).status).toBe(404);

    const put = async (body: unknown) => {
      const res = await fetch(`${sut.httpUrl}/api/stations/ld-a/rules`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    expect(await put({ leafOffsetC: 4 })).toEqual({ status: 200, body: { leafOffsetC: 4 } });
    expect((await put({ notARule: 1 })).status).toBe(400);

    // A few hours of readings are not a season: the fit refuses and says why.
    const fit = await sut.api.post('/api/stations/ld-a/model', {});
    expect(fit.status).toBe(422);
    expect((fit.body as { message: string }).message).toMatch(/cannot fit ld-a/);
  });
});

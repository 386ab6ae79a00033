import { describe, expect, it } from 'vitest';
import type { StationId } from '../../contracts/ids.js';
import {
  decodeEntry,
  encodeReadings,
  encodeStatus,
  natsPartitionMapping,
  parsePartitionSubject,
  readingsMsgId,
  stationPartition,
} from '../../server/cluster/readings-log.js';

const ST = 'lac-duong-07' as StationId;
const T = Date.UTC(2025, 0, 15, 21, 0, 0);

describe('readings log envelope', () => {
  it('round-trips readings and status through the subjects the mapping stores them under', () => {
    const readings = [
      { ts: T, airTempC: 1.5, rhPct: 97, seq: 4 },
      { ts: T + 60_000, airTempC: 1.2 },
    ];
    expect(JSON.parse(Buffer.from(encodeReadings(ST, readings)).toString())).toEqual({ v: 1, s: ST, r: readings });
    expect(decodeEntry(`fw.readings.part.3.${ST}`, encodeReadings(ST, readings))).toEqual({ kind: 'readings', stationId: ST, readings });
    expect(decodeEntry(`fw.readings.part.3.${ST}.status`, encodeStatus(ST, { online: false }, T))).toEqual({
      kind: 'status',
      stationId: ST,
      status: { online: false },
      receivedAtMs: T,
    });
  });

  it('refuses what it cannot trust, and leaves a newer envelope for a newer reader', () => {
    const data = encodeReadings(ST, [{ ts: T, airTempC: 1 }]);
    expect(decodeEntry(`fw.readings.part.3.other-station`, data)).toMatchObject({ kind: 'invalid' });
    expect(decodeEntry(`fw.readings.in.${ST}`, data)).toMatchObject({ kind: 'invalid' });
    expect(decodeEntry(`fw.readings.part.3.${ST}`, Buffer.from('{'))).toEqual({ kind: 'invalid', reason: 'not JSON' });
    expect(
      decodeEntry(`fw.readings.part.3.${ST}`, Buffer.from(JSON.stringify({ v: 1, s: ST, r: [{ ts: T, airTempC: 200 }] }))),
    ).toMatchObject({
      kind: 'invalid',
    });
    expect(decodeEntry(`fw.readings.part.3.${ST}`, Buffer.from(JSON.stringify({ v: 2, stations: [] })))).toEqual({
      kind: 'newer',
      version: 2,
    });
  });

  it('gives a message id per set of timestamps, so a resend is one message and a longer batch another', () => {
    const one = [{ ts: T, airTempC: 1 }];
    expect(readingsMsgId(ST, one)).toBe(`${ST}:${T}`);
    const three = [
      { ts: T, airTempC: 1 },
      { ts: T + 60_000, airTempC: 1 },
      { ts: T + 180_000, airTempC: 1 },
    ];
    const otherMiddle = [
      { ts: T, airTempC: 1 },
      { ts: T + 120_000, airTempC: 1 },
      { ts: T + 180_000, airTempC: 1 },
    ];
    expect(readingsMsgId(ST, three)).toMatch(new RegExp(`^${ST}:${T}-${T + 180_000}:3:[0-9a-f]{16}$`));
    expect(readingsMsgId(ST, three)).toBe(
      readingsMsgId(
        ST,
        three.map((r) => ({ ...r, airTempC: 2 })),
      ),
    );
    expect(readingsMsgId(ST, three)).not.toBe(readingsMsgId(ST, otherMiddle));
    expect(readingsMsgId(ST, three)).not.toBe(readingsMsgId(ST, one));
  });

  it('parses partition subjects and writes the mapping block nats-server reads', () => {
    expect(parsePartitionSubject('fw.readings.part.12.st-1')).toEqual({ partition: 12, stationId: 'st-1', kind: 'readings' });
    expect(parsePartitionSubject('fw.readings.part.12.st-1.status')).toEqual({ partition: 12, stationId: 'st-1', kind: 'status' });
    expect(parsePartitionSubject('fw.readings.part.x.st-1')).toBeNull();
    expect(parsePartitionSubject('fw.readings.part.1.st-1.other')).toBeNull();
    expect(natsPartitionMapping(8)).toContain('"fw.readings.in.*": "fw.readings.part.{{partition(8,1)}}.{{wildcard(1)}}"');
    expect(() => natsPartitionMapping(0)).toThrow();
  });

  it('predicts partitions with FNV-1a, spread over all of them', () => {
    // FNV-1a 32 of "a" is 0xe40c292c (the function's published test vector).
    expect(stationPartition('a', 2 ** 31)).toBe(0xe40c292c % 2 ** 31);
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 8_000; i++) counts[stationPartition(`st-${i}`, 8)]! += 1;
    for (const count of counts) expect(count).toBeGreaterThan(800);
  });
});

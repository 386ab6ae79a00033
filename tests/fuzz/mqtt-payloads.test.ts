import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PAYLOAD_LIMITS,
  type ReadingInput,
  RejectReasonSchema,
  type StationId,
  type StationStatus,
  configTopic,
  parseConfigPayload,
  parseReadingsPayload,
  parseStationTopic,
  parseStatusPayload,
  readingsTopic,
  statusTopic,
} from '../../contracts/index.js';
import { fuzzRuns } from './fuzz-settings.js';
import { asReceived, mixedBatch, validReading as validReadingAt } from './reading-arbitraries.js';

/**
 * The MQTT boundary (docs/protocol.md): whatever a station publishes, the parsers return a value — readings or a
 * reason — and never throw; a valid reading comes out exactly as sent; in a batch, every valid reading is kept
 * whatever the invalid ones around it look like.
 */
const NOW = Date.UTC(2026, 0, 15, 22, 0, 0);
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

const validReading = validReadingAt(NOW);

function expectSameReading(got: unknown, sent: ReadingInput): void {
  expect(got).toEqual(asReceived(sent));
}

describe('readings payload', () => {
  it('never throws on arbitrary bytes, and says why nothing was taken', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (payload) => {
        const parsed = parseReadingsPayload(payload, NOW);
        expect(parsed.readings.length + parsed.rejects.length).toBeGreaterThan(0);
        for (const reason of parsed.rejects) expect(RejectReasonSchema.options).toContain(reason);
      }),
      fuzzRuns(2_000),
    );
  });

  it('never throws on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        const parsed = parseReadingsPayload(bytes(JSON.stringify(json)), NOW);
        for (const reason of parsed.rejects) expect(RejectReasonSchema.options).toContain(reason);
      }),
      fuzzRuns(2_000),
    );
  });

  it('takes a valid reading exactly as sent, alone or in a batch', () => {
    fc.assert(
      fc.property(validReading, (reading) => {
        const single = parseReadingsPayload(bytes(JSON.stringify(reading)), NOW);
        expect(single.rejects).toEqual([]);
        expect(single.readings).toHaveLength(1);
        expectSameReading(single.readings[0], reading);
      }),
      fuzzRuns(1_000),
    );
  });

  it('keeps every valid reading of a mixed batch, in order, and one reason per invalid one', () => {
    fc.assert(
      fc.property(mixedBatch(NOW), (items) => {
        const parsed = parseReadingsPayload(bytes(JSON.stringify(items.map((i) => i.r))), NOW);
        const valid = items.filter((i) => i.valid).map((i) => i.r as ReadingInput);
        expect(parsed.readings).toHaveLength(valid.length);
        valid.forEach((sent, k) => expectSameReading(parsed.readings[k], sent));
        expect(parsed.rejects).toHaveLength(items.length - valid.length);
      }),
      fuzzRuns(500),
    );
  });

  it('refuses what is too big or too long whole, with a reason', () => {
    expect(parseReadingsPayload(new Uint8Array(DEFAULT_PAYLOAD_LIMITS.maxBytes + 1), NOW).rejects).toEqual(['too_large']);
    expect(parseReadingsPayload(bytes('[]'), NOW).rejects).toEqual(['empty_batch']);
    const many = Array.from({ length: DEFAULT_PAYLOAD_LIMITS.maxBatch + 1 }, () => ({ ts: NOW, airTempC: 1 }));
    expect(parseReadingsPayload(bytes(JSON.stringify(many)), NOW).rejects).toEqual(['batch_too_long']);
  });
});

describe('status and config payloads', () => {
  const status: fc.Arbitrary<StationStatus> = fc.record(
    { online: fc.boolean(), fw: fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => s.length <= 64), uptimeS: fc.nat() },
    { requiredKeys: ['online'] },
  );

  it('takes a valid status exactly as sent', () => {
    fc.assert(
      fc.property(status, (s) => {
        expect(parseStatusPayload(bytes(JSON.stringify(s)))).toEqual({ ok: true, status: s });
      }),
      fuzzRuns(1_000),
    );
  });

  it('never throws on arbitrary bytes or JSON', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.jsonValue().map((j) => bytes(JSON.stringify(j))),
        ),
        (payload) => {
          const result = parseStatusPayload(payload);
          if (result.ok) expect(typeof result.status.online).toBe('boolean');
          const config = parseConfigPayload(payload);
          if (config !== null) expect(config.intervalS).toBeGreaterThanOrEqual(10);
        },
      ),
      fuzzRuns(2_000),
    );
  });
});

describe('station topics', () => {
  const stationId = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,62}$/).map((s) => s as StationId);

  it('round-trips every topic the builders make', () => {
    fc.assert(
      fc.property(stationId, (id) => {
        expect(parseStationTopic(readingsTopic(id))).toEqual({ stationId: id, kind: 'readings' });
        expect(parseStationTopic(statusTopic(id))).toEqual({ stationId: id, kind: 'status' });
        expect(parseStationTopic(configTopic(id))).toEqual({ stationId: id, kind: 'config' });
      }),
      fuzzRuns(1_000),
    );
  });

  it('never throws, and what it accepts is exactly a topic the builders would make', () => {
    const topicish = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc
        .array(fc.oneof(fc.constantFrom('stations', 'readings', 'status', 'config', '+', '#', '', '..'), fc.string({ maxLength: 10 })), {
          maxLength: 5,
        })
        .map((p) => p.join('/')),
    );
    fc.assert(
      fc.property(topicish, (topic) => {
        const parsed = parseStationTopic(topic);
        if (parsed !== null) expect(`stations/${parsed.stationId}/${parsed.kind}`).toBe(topic);
      }),
      fuzzRuns(3_000),
    );
  });
});

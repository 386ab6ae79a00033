import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StationStatus } from '../../contracts/index.js';
import { quoteIdent, quoteString, timeLiteralMs } from '../../server/influx/influxql.js';
import { escapeKey, escapeTagValue, readingLine, statusLine } from '../../server/influx/line-protocol.js';
import { queryReadings } from '../../server/influx/readings-query.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { FUZZ_TIMEOUT_MS, fuzzRuns } from './fuzz-settings.js';
import { readingAt } from './reading-arbitraries.js';

/**
 * Line protocol out, InfluxQL back, against a real influxd 1.6: what is encoded is stored exactly as meant — a
 * reading's every field, a firmware string with quotes and backslashes, a tag value with any punctuation — and an
 * InfluxQL literal built by quoteString finds exactly that tag, whatever it contains. A value that cannot be encoded
 * (a newline, a trailing backslash) is refused with a RangeError, never written as a broken or split line.
 */
const T0 = Date.UTC(2026, 0, 15, 0, 0, 0);
let influx: TestInfluxd;
let run = 0;

beforeAll(async () => {
  influx = await startTestInfluxd({ database: 'frostwatch_fuzz_lp' });
}, 60_000);

afterAll(async () => {
  // Also runs when beforeAll failed part-way, before this was assigned.
  await (influx as TestInfluxd | undefined)?.stop();
});

/** Text with the characters that matter to both languages, plus anything Unicode (well-formed: UTF-8 has no lone surrogates). */
const tricky = fc.oneof(
  fc.string({ unit: fc.constantFrom(' ', ',', '=', '"', "'", '\\', '\n', '\r', '\t', 'a', 'đ', '/', '*', ';', '-', '#'), maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 24 }),
);

describe('line protocol through a real influxd', () => {
  it(
    'stores readings exactly: every field, as a float or an integer, at its millisecond',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 30 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, k) => readingAt(T0 + k * 60_000)))),
          async (readings) => {
            const station = `ld-fuzz-${(run += 1)}`;
            await influx.conn.writeLines(readings.map((r) => readingLine(station, r)));
            const back = await queryReadings(influx.conn, station, { fromMs: T0, toMs: T0 + 3_600_000 });
            expect(back).toEqual(
              readings.map(({ ts, ...fields }) => ({
                ts: new Date(ts).toISOString(),
                ...(JSON.parse(JSON.stringify(fields)) as typeof fields),
              })),
            );
          },
        ),
        fuzzRuns(40),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'stores a firmware string exactly, line breaks turned into spaces',
    async () => {
      await fc.assert(
        fc.asyncProperty(tricky, async (fw) => {
          const station = `ld-fw-${(run += 1)}`;
          const status: StationStatus = { online: true, fw };
          await influx.conn.writeLines([statusLine(station, status, T0)]);
          const [series] = await influx.conn.query(
            `SELECT ${quoteIdent('fw')} FROM ${quoteIdent('status')} WHERE ${quoteIdent('station')} = ${quoteString(station)}`,
          );
          expect(series?.values[0]?.[1]).toBe(fw.replace(/[\r\n]/g, ' '));
        }),
        fuzzRuns(100),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'finds exactly the tag value quoteString names, whatever it holds; refuses what line protocol cannot carry',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          tricky.filter((s) => s !== ''),
          async (tag) => {
            const ts = T0 + (run += 1);
            let line: string;
            try {
              line = `${escapeKey('fuzz_tags')},${escapeKey('station')}=${escapeTagValue(tag)} v=${run} ${ts}`;
            } catch (err) {
              expect(err).toBeInstanceOf(RangeError);
              expect(/[\r\n]|\\$/.test(tag)).toBe(true);
              return;
            }
            expect(line).not.toMatch(/[\r\n]/);
            await influx.conn.writeLines([line]);
            const q = `SELECT ${quoteIdent('v')} FROM ${quoteIdent('fuzz_tags')} WHERE ${quoteIdent('station')} = ${quoteString(tag)} AND time = ${timeLiteralMs(ts)}`;
            const [series] = await influx.conn.query(q);
            expect(series?.values.map((v) => v[1])).toEqual([run]);
          },
        ),
        fuzzRuns(150),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

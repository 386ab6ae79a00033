import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskPhone } from '../../contracts/index.js';
import { parseFarmerCsv } from '../../server/registry/farmer-csv.js';
import { normalisePhone } from '../../server/registry/phone.js';
import { fuzzRuns } from './fuzz-settings.js';

/**
 * Phone numbers and the farmer CSV import: what officers type or paste. Never throws; a valid number in any of its
 * Vietnamese forms becomes the same E.164; every good row of a spreadsheet is imported whatever bad rows sit among
 * them, and every bad row is reported by the line the spreadsheet shows.
 */
// Viettel, Vinaphone, MobiFone, Vietnamobile prefixes: 03x, 05x, 07x, 08x, 09x mobiles (10 digits with the 0).
const MOBILE_PREFIXES = [
  '32',
  '33',
  '34',
  '35',
  '36',
  '37',
  '38',
  '39',
  '70',
  '76',
  '77',
  '78',
  '79',
  '81',
  '82',
  '83',
  '84',
  '85',
  '86',
  '88',
  '89',
  '90',
  '91',
  '93',
  '94',
  '96',
  '97',
  '98',
];
// Filtered by the metadata: a few blocks inside these prefixes are not assigned, and an unassigned number is rightly refused.
const mobile = fc
  .tuple(fc.constantFrom(...MOBILE_PREFIXES), fc.stringMatching(/^[0-9]{7}$/))
  .map(([p, rest]) => `+84${p}${rest}`)
  .filter((n) => normalisePhone(n).ok);

/** The forms people write a Vietnamese mobile in. */
function localForms(e164: string): fc.Arbitrary<string> {
  const national = `0${e164.slice(3)}`;
  return fc.constantFrom(
    e164,
    national,
    `${national.slice(0, 4)} ${national.slice(4, 7)} ${national.slice(7)}`,
    `${national.slice(0, 4)}.${national.slice(4, 7)}.${national.slice(7)}`,
    `84${e164.slice(3)}`,
    `0084${e164.slice(3)}`,
    `+84 ${e164.slice(3, 5)} ${e164.slice(5, 8)} ${e164.slice(8)}`,
    ` (${national.slice(0, 4)}) ${national.slice(4)} `,
  );
}

describe('phone numbers', () => {
  it('never throws, and an accepted number is E.164 that normalises to itself', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.stringMatching(/^[+0-9 ().\-/]{0,20}$/)), (text) => {
        const result = normalisePhone(text);
        if (!result.ok) {
          expect(result.error.length).toBeGreaterThan(0);
          return;
        }
        expect(result.e164).toMatch(/^\+[1-9][0-9]{6,14}$/);
        expect(normalisePhone(result.e164)).toEqual(result);
      }),
      fuzzRuns(3_000),
    );
  });

  it('reads every written form of a Vietnamese mobile as the same number, and masks it', () => {
    fc.assert(
      fc.property(
        mobile.chain((e164) => fc.tuple(fc.constant(e164), localForms(e164))),
        ([e164, written]) => {
          expect(normalisePhone(written)).toMatchObject({ ok: true, e164, kind: 'mobile', country: 'VN' });
          const masked = maskPhone(e164);
          expect(masked).toBe(`${e164.slice(0, 5)}•••${e164.slice(-4)}`);
          expect(masked.replace(/[^0-9]/g, '').length).toBeLessThanOrEqual(8);
        },
      ),
      fuzzRuns(1_000),
    );
  });
});

const cellText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== '' && s.trim().length <= 100);
const goodRow = fc.record({
  name: cellText,
  phone: mobile,
  language: fc.constantFrom('vi', 'en'),
  commune: cellText,
  stations: fc.constantFrom('ld-a', 'ld-a;ld-b', ''),
});
const badRow = fc.oneof(
  fc.record({
    name: cellText,
    phone: fc.constantFrom('12', 'abc', '+1 555', '0912'),
    language: fc.constant('vi'),
    commune: cellText,
    stations: fc.constant('ld-a'),
  }),
  fc.record({ name: fc.constant(''), phone: mobile, language: fc.constant('vi'), commune: cellText, stations: fc.constant('ld-a') }),
  fc.record({ name: cellText, phone: mobile, language: fc.constant('fr'), commune: cellText, stations: fc.constant('ld-a') }),
  fc.record({ name: cellText, phone: mobile, language: fc.constant('vi'), commune: fc.constant(''), stations: fc.constant('') }),
);
type Row = { name: string; phone: string; language: string; commune: string; stations: string };

/** RFC 4180 quoting, as a spreadsheet writes it. */
const cell = (value: string): string => `"${value.replaceAll('"', '""')}"`;
const line = (r: Row): string => [r.name, r.phone, r.language, r.commune, r.stations].map(cell).join(',');

describe('farmer CSV import', () => {
  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.array(fc.string({ maxLength: 20 }), { maxLength: 8 }).map((cells) => `name,phone\n${cells.join(',')}`),
        ),
        (text) => {
          const parsed = parseFarmerCsv(text);
          if (!parsed.ok) expect(parsed.error.length).toBeGreaterThan(0);
        },
      ),
      fuzzRuns(2_000),
    );
  });

  it('imports every good row exactly and reports every bad row by its line', () => {
    const rows = fc
      .array(
        fc.oneof(
          goodRow.map((r) => ({ good: true, r })),
          badRow.map((r) => ({ good: false, r })),
        ),
        { minLength: 1, maxLength: 25 },
      )
      // Two good rows with one phone: the second is a duplicate, reported as such; keep phones unique here.
      .filter((rs) => new Set(rs.map((x) => x.r.phone)).size === rs.length);
    fc.assert(
      fc.property(rows, fc.constantFrom('\n', '\r\n'), (items, eol) => {
        const text = ['name,phone,language,commune,station_ids', ...items.map((i) => line(i.r))].join(eol) + eol;
        const parsed = parseFarmerCsv(text);
        if (!parsed.ok) throw new Error(parsed.error);
        const goodLines = items.flatMap((i, k) => (i.good ? [k + 2] : []));
        expect(parsed.rows.map((r) => r.row)).toEqual(goodLines);
        expect(parsed.errors.map((e) => e.row)).toEqual(items.flatMap((i, k) => (i.good ? [] : [k + 2])));
        parsed.rows.forEach((parsedRow, k) => {
          const sent = items.filter((i) => i.good)[k]!.r;
          expect(parsedRow.farmer).toMatchObject({
            name: sent.name.normalize('NFC').trim(),
            phone: sent.phone,
            language: sent.language,
            commune: sent.commune.normalize('NFC').trim(),
            stationIds: sent.stations === '' ? [] : sent.stations.split(';'),
          });
        });
      }),
      fuzzRuns(300),
    );
  });
});

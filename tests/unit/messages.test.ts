import fc from 'fast-check';
import { SegmentedMessage } from 'sms-segments-calculator';
import { describe, expect, it } from 'vitest';
import {
  composeFarmerMessage,
  DEFAULT_SMS_COST_USD_PER_SEGMENT,
  estimateActByMs,
  MAX_SEGMENTS,
  type FarmerMessageInput,
} from '../../frost/messages.js';
import type { Language } from '../../contracts/index.js';
import { DECISIONS, LEVELS, MIN_AT, STATION, STATION_OTHER_COMMUNE, type Level } from './messages-fixtures.js';

const GOLDEN: Record<Level, Record<Language, [withDiacritics: string, gsm7: string]>> = {
  watch: {
    vi: [
      'Chú ý sương muối đêm nay. Lúc 17:30 trạm Đạ Sar 01: 11,4°C, đang giảm 1,2°C/giờ. Dự báo thấp nhất 3,1°C lúc 05:50. Chuẩn bị sẵn vật che phủ, nước tưới và vật liệu đốt khói. Ngừng: báo cán bộ xã.',
      'Chu y suong muoi dem nay. Luc 17:30 tram Da Sar 01: 11,4 do C, dang giam 1,2 do C/gio. Du bao thap nhat 3,1 do C luc 05:50. Chuan bi san vat che phu, nuoc tuoi va vat lieu dot khoi. Ngung: bao can bo xa.',
    ],
    en: [
      'Frost watch tonight. At 17:30 station Đạ Sar 01: 11.4C, falling 1.2C/h. Forecast low 3.1C at 05:50. Get covers, water and smoke material ready. To stop, tell your officer.',
      'Frost watch tonight. At 17:30 station Da Sar 01: 11.4C, falling 1.2C/h. Forecast low 3.1C at 05:50. Get covers, water and smoke material ready. To stop, tell your officer.',
    ],
  },
  warning: {
    vi: [
      'CẢNH BÁO sương muối đêm nay. Lúc 22:40 trạm Đạ Sar 01: 4,6°C, đang giảm 0,6°C/giờ. Dự báo thấp nhất 1,2°C lúc 05:50. Che phủ cây non, tưới nước trước 01:20; chuẩn bị đốt khói. Ngừng: báo cán bộ xã.',
      'CANH BAO suong muoi dem nay. Luc 22:40 tram Da Sar 01: 4,6 do C, dang giam 0,6 do C/gio. Du bao thap nhat 1,2 do C luc 05:50. Che phu cay non, tuoi nuoc truoc 01:20; chuan bi dot khoi. Ngung: bao can bo xa.',
    ],
    en: [
      'FROST WARNING tonight. At 22:40 station Đạ Sar 01: 4.6C, falling 0.6C/h. Forecast low 1.2C at 05:50. Cover young trees and water before 01:20; get smoke fires ready. To stop, tell your officer.',
      'FROST WARNING tonight. At 22:40 station Da Sar 01: 4.6C, falling 0.6C/h. Forecast low 1.2C at 05:50. Cover young trees and water before 01:20; get smoke fires ready. To stop, tell your officer.',
    ],
  },
  severe: {
    vi: [
      // The footer (how to stop) costs the trend: the shortest form that fits three UCS-2 segments.
      'KHẨN CẤP: sương muối nguy hiểm. Lúc 02:50 trạm Đạ Sar 01: 2,1°C. Dự báo thấp nhất -0,8°C lúc 05:50. Làm ngay: che phủ cây non, tưới nước, đốt khói trước 03:50. Ngừng: báo cán bộ xã.',
      'KHAN CAP: suong muoi nguy hiem. Luc 02:50 tram Da Sar 01: 2,1 do C, dang giam 0,5 do C/gio. Du bao thap nhat -0,8 do C luc 05:50. Lam ngay: che phu cay non, tuoi nuoc, dot khoi truoc 03:50. Ngung: bao can bo xa.',
    ],
    en: [
      'SEVERE FROST. At 02:50 station Đạ Sar 01: 2.1C, falling 0.5C/h. Forecast low -0.8C at 05:50. Act now: cover young trees, water, light smoke fires before 03:50. To stop, tell your officer.',
      'SEVERE FROST. At 02:50 station Da Sar 01: 2.1C, falling 0.5C/h. Forecast low -0.8C at 05:50. Act now: cover young trees, water, light smoke fires before 03:50. To stop, tell your officer.',
    ],
  },
  all_clear: {
    vi: [
      'Đã hết nguy cơ sương muối. Lúc 07:20 trạm Đạ Sar 01: 6,3°C, đang tăng 2,4°C/giờ. Có thể dỡ vật che phủ khi nắng lên. Ngừng: báo cán bộ xã.',
      'Da het nguy co suong muoi. Luc 07:20 tram Da Sar 01: 6,3 do C, dang tang 2,4 do C/gio. Co the do vat che phu khi nang len. Ngung: bao can bo xa.',
    ],
    en: [
      'Frost all clear. At 07:20 station Đạ Sar 01: 6.3C, rising 2.4C/h. Covers can come off once the sun is up. To stop, tell your officer.',
      'Frost all clear. At 07:20 station Da Sar 01: 6.3C, rising 2.4C/h. Covers can come off once the sun is up. To stop, tell your officer.',
    ],
  },
};

const compose = (level: Level, language: Language, diacritics: boolean, extra: Partial<FarmerMessageInput> = {}) =>
  composeFarmerMessage({ decision: DECISIONS[level], station: STATION, language, diacritics, ...extra });

describe('composeFarmerMessage: golden texts', () => {
  const cases = LEVELS.flatMap((level) =>
    (['vi', 'en'] as const).flatMap((language) => [true, false].map((diacritics) => ({ level, language, diacritics }))),
  );

  it.each(cases)('$level in $language, diacritics $diacritics', ({ level, language, diacritics }) => {
    const message = compose(level, language, diacritics);
    expect(message.text).toBe(GOLDEN[level][language][diacritics ? 0 : 1]);
    // What the calculator Twilio publishes says about the same text.
    const reference = new SegmentedMessage(message.text);
    expect(message.encoding).toBe(reference.encodingName);
    expect(message.segments).toBe(reference.segmentsCount);
    expect(message.costUsd).toBeCloseTo(message.segments * DEFAULT_SMS_COST_USD_PER_SEGMENT, 10);
    expect(message.segments).toBeLessThanOrEqual(MAX_SEGMENTS[message.encoding]);
    if (!diacritics) expect(message.encoding).toBe('GSM-7');
    if (diacritics && language === 'vi') expect(message.encoding).toBe('UCS-2');
  });

  it('states the farm estimate, with the offset applied, and says "now" when the farm is already at the threshold', () => {
    const vi = composeFarmerMessage({
      decision: DECISIONS.severe,
      station: STATION_OTHER_COMMUNE,
      language: 'vi',
      diacritics: true,
      offsetC: -1.5,
    });
    expect(vi.text).toBe(
      'KHẨN CẤP: sương muối nguy hiểm. Lúc 02:50 trạm Vườn ông Ha: vườn bạn khoảng 0,6°C. Dự báo thấp nhất -2,3°C lúc 05:50. Làm ngay: che phủ cây non, tưới nước, đốt khói. Ngừng: báo cán bộ xã.',
    );
    const en = composeFarmerMessage({
      decision: DECISIONS.warning,
      station: STATION_OTHER_COMMUNE,
      language: 'en',
      diacritics: false,
      offsetC: 1,
    });
    expect(en.text).toBe(
      'FROST WARNING tonight. At 22:40 station Vuon ong Ha (Lat): your farm about 5.6C, falling 0.6C/h. Forecast low 2.2C at 05:50. Cover young trees and water before 03:00; get smoke fires ready. To stop, tell your officer.',
    );
  });

  it('uses the deadline the rule engine gives, rounded down to 10 minutes', () => {
    const actByMs = DECISIONS.severe.atMs + 47 * 60_000; // 03:37
    expect(compose('severe', 'vi', true, { actByMs }).text).toMatch(/đốt khói trước 03:30\. Ngừng: báo cán bộ xã\.$/);
    expect(compose('severe', 'vi', true, { actByMs: null }).text).toMatch(
      /Làm ngay: che phủ cây non, tưới nước, đốt khói\. Ngừng: báo cán bộ xã\.$/,
    );
    expect(compose('warning', 'en', false, { actByMs: null }).text).toMatch(/water this evening;/);
  });

  it('prices segments at the configured rate', () => {
    const message = composeFarmerMessage(
      { decision: DECISIONS.severe, station: STATION, language: 'vi', diacritics: true },
      { smsCostUsdPerSegment: 0.05 },
    );
    expect(message.segments).toBe(3);
    expect(message.costUsd).toBeCloseTo(0.15, 10);
  });

  it('formats clock times in the configured time zone', () => {
    expect(
      composeFarmerMessage({ decision: DECISIONS.watch, station: STATION, language: 'en', diacritics: false }, { timeZone: 'UTC' }).text,
    ).toContain('At 10:30 station');
  });

  it('never writes "-0"', () => {
    const decision = {
      ...DECISIONS.severe,
      inputs: { ...DECISIONS.severe.inputs, airTempC: -0.04, forecastMinC: 0.02, nowcastMinC: null },
    };
    const text = composeFarmerMessage({ decision, station: STATION, language: 'vi', diacritics: true }).text;
    expect(text).toContain(': 0,0°C');
    expect(text).not.toMatch(/-0,0/);
  });
});

describe('composeFarmerMessage: length limits', () => {
  const longName = 'Trạm quan trắc sương muối thôn Đưng K’Si thuộc hợp tác xã cà phê Lạc Dương số hai mươi ba khu vực'.slice(0, 100);
  const longCommune = 'Thị trấn Lạc Dương mở rộng phía đông bắc giáp ranh huyện Đam Rông';

  it.each(
    LEVELS.flatMap((level) =>
      (['vi', 'en'] as const).flatMap((language) => [true, false].map((diacritics) => ({ level, language, diacritics }))),
    ),
  )('keeps $level/$language/diacritics $diacritics within limits with a 100-character station name', ({ level, language, diacritics }) => {
    const message = composeFarmerMessage({
      decision: DECISIONS[level],
      station: { name: longName, commune: longCommune },
      language,
      diacritics,
      offsetC: -2,
    });
    expect(message.segments).toBeLessThanOrEqual(MAX_SEGMENTS[message.encoding]);
    // The advice is what must survive shortening.
    expect(message.text).toMatch(language === 'vi' ? /(che phủ|che phu|dỡ|do vat)/i : /cover/i);
  });

  it('stays within limits for any station name and any numbers', () => {
    const vietnamese = fc.constantFrom(
      ...'aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵĐ '.split(''),
    );
    const temp = fc.double({ min: -12, max: 35, noNaN: true });
    fc.assert(
      fc.property(
        fc.string({ unit: vietnamese, minLength: 1, maxLength: 100 }),
        fc.constantFrom(...LEVELS),
        fc.constantFrom<Language>('vi', 'en'),
        fc.boolean(),
        temp,
        temp,
        fc.double({ min: -6, max: 6, noNaN: true }),
        fc.double({ min: -5, max: 5, noNaN: true }),
        (name, level, language, diacritics, air, min, trend, offsetC) => {
          const base = DECISIONS[level];
          const decision = { ...base, inputs: { ...base.inputs, airTempC: air, forecastMinC: min, trendCPerH: trend } };
          const message = composeFarmerMessage({ decision, station: { name, commune: 'Đạ Sar' }, language, diacritics, offsetC });
          expect(message.segments).toBeLessThanOrEqual(MAX_SEGMENTS[message.encoding]);
          expect(message.text).toBe(message.text.normalize('NFC'));
          if (!diacritics) expect(message.encoding).toBe('GSM-7');
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('estimateActByMs', () => {
  const severe = DECISIONS.severe;
  const at = severe.atMs;
  const withInputs = (inputs: Partial<typeof severe.inputs>) => ({ atMs: at, inputs: { ...severe.inputs, ...inputs } });

  it('is now when the farm is already at the threshold', () => {
    expect(estimateActByMs(severe, -1.5, 1)).toBe(at);
  });

  it('carries the current cooling rate on when nothing else is known', () => {
    expect(estimateActByMs(withInputs({ forecastMinC: null, nowcastMinC: null, airTempC: 3, trendCPerH: -1 }), 0, 1)).toBe(
      at + 2 * 3_600_000,
    );
  });

  it('follows the √t night curve to the expected minimum when the air is not cooling now', () => {
    const estimate = estimateActByMs(withInputs({ trendCPerH: 0 }), 0, 1) ?? Number.NaN;
    // Strictly between now and the minimum, and earlier than a straight line: on the curve cooling is fastest first.
    const straight = at + ((2.1 - 1) / (2.1 + 0.8)) * (MIN_AT - at);
    expect(estimate).toBeGreaterThan(at);
    expect(estimate).toBeLessThan(straight);
  });

  it('takes the earlier of the two estimates', () => {
    const byCurve = estimateActByMs(withInputs({ trendCPerH: 0 }), 0, 1) ?? Number.NaN;
    expect(estimateActByMs(withInputs({ trendCPerH: -3 }), 0, 1)).toBe(Math.min(byCurve, at + (1.1 / 3) * 3_600_000));
  });

  it('is null when nothing says the farm will get there', () => {
    expect(estimateActByMs(withInputs({ trendCPerH: 0.5, forecastMinC: 4, nowcastMinC: null }), 0, 1)).toBeNull();
    expect(estimateActByMs(withInputs({ airTempC: null }), 0, 1)).toBeNull();
  });
});

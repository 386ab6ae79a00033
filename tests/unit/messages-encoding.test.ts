import { SegmentedMessage } from 'sms-segments-calculator';
import { describe, expect, it } from 'vitest';
import {
  composeFarmerMessage,
  composeOfficerMessage,
  composeVoiceScript,
  stripDiacritics,
  toGsm7,
  type OfficerNotice,
} from '../../frost/messages.js';
import { DECISIONS, LEVELS, STATION, STATION_OTHER_COMMUNE } from './messages-fixtures.js';

describe('stripDiacritics', () => {
  it.each([
    ['Sương muối', 'Suong muoi'],
    ['Lạc Dương', 'Lac Duong'],
    ['Đạ Sar', 'Da Sar'],
    ['đốt khói', 'dot khoi'],
    ['che phủ cây non, tưới nước', 'che phu cay non, tuoi nuoc'],
    ['KHẨN CẤP', 'KHAN CAP'],
    ['Đưng K’Nớ', "Dung K'No"],
    ['Ặ Ằ Ẵ Ấ Ậ Ơ Ờ Ợ Ư Ự Ữ Ỳ Ỵ', 'A A A A A O O O U U U Y Y'],
    ['Vườn ông Ha – Lát…', 'Vuon ong Ha - Lat...'],
  ])('%s → %s', (input, expected) => {
    expect(stripDiacritics(input)).toBe(expected);
    expect(stripDiacritics(input.normalize('NFD'))).toBe(expected);
  });

  it('turns every Vietnamese letter, with every tone, into a plain ASCII letter', () => {
    const bases = 'aăâeêioôơuưyAĂÂEÊIOÔƠUƯY';
    const tones = ['', '\u0300', '\u0301', '\u0303', '\u0309', '\u0323'];
    for (const base of bases) {
      for (const tone of tones) {
        const letter = `${base}${tone}`.normalize('NFC');
        expect(stripDiacritics(letter)).toMatch(/^[aeiouyAEIOUY]$/);
      }
    }
    expect(stripDiacritics('đĐ')).toBe('dD');
  });
});

describe('toGsm7', () => {
  it.each([
    ['vi', 'Lúc 02:50: 2,1°C, đang giảm 0,5°C/giờ.', 'Luc 02:50: 2,1 do C, dang giam 0,5 do C/gio.'],
    ['vi', 'Nhiệt độ -1 °C', 'Nhiet do -1 do C'],
    ['en', 'At 02:50 station Đạ Sar 01: 2.1°C', 'At 02:50 station Da Sar 01: 2.1C'],
    ['vi', 'Trạm 🌱 Lát', 'Tram ? Lat'],
    ['en', 'a`b', 'a?b'],
  ] as const)('%s: %s', (language, input, expected) => {
    const gsm = toGsm7(input, language);
    expect(gsm).toBe(expected);
    expect(new SegmentedMessage(gsm).encodingName).toBe('GSM-7');
  });
});

describe('Unicode normal form', () => {
  it('sends NFC whatever form the station name was stored in', () => {
    const nfd = { name: STATION_OTHER_COMMUNE.name.normalize('NFD'), commune: STATION_OTHER_COMMUNE.commune.normalize('NFD') };
    for (const level of LEVELS) {
      const fromNfd = composeFarmerMessage({ decision: DECISIONS[level], station: nfd, language: 'vi', diacritics: true });
      const fromNfc = composeFarmerMessage({
        decision: DECISIONS[level],
        station: STATION_OTHER_COMMUNE,
        language: 'vi',
        diacritics: true,
      });
      expect(fromNfd).toEqual(fromNfc);
      expect(fromNfd.text).toBe(fromNfd.text.normalize('NFC'));
      // The stop footer leaves no room for the commune in three UCS-2 segments; the name is kept, in NFC.
      expect(fromNfd.text).toContain('Vườn ông Ha');
    }
  });
});

describe('composeVoiceScript', () => {
  it('says the severe warning in Vietnamese for the ear and ends with the keypress', () => {
    const script = composeVoiceScript({ decision: DECISIONS.severe, station: STATION, language: 'vi', diacritics: false });
    expect(script).toEqual({
      language: 'vi-VN',
      text:
        'Đây là cảnh báo sương muối khẩn cấp của trạm Đạ Sar 01, xã Đạ Sar. Lúc 2 giờ 50, nhiệt độ 2 phẩy 1 độ C và đang giảm. ' +
        'Dự báo thấp nhất âm 0 phẩy 8 độ C lúc 5 giờ 50. Hãy che phủ cây non, tưới nước và đốt khói ngay, trước 3 giờ 50. Bấm phím 1 để xác nhận.',
    });
  });

  it('has an English variant with plain letters for the English voice', () => {
    const script = composeVoiceScript({ decision: DECISIONS.warning, station: STATION, language: 'en', diacritics: true, offsetC: -1 });
    expect(script).toEqual({
      language: 'en-US',
      text:
        'This is a frost warning from station Da Sar 01, Da Sar. At 10:40 PM, your farm was about 3.6 degrees and falling. ' +
        'The expected low is 0.2 degrees at 5:50 AM. Cover young trees and water before 11:30 PM, and get smoke fires ready. Press 1 to confirm.',
    });
  });

  it.each(LEVELS)('ends every %s call with the confirmation and keeps the text NFC and symbol-free', (level) => {
    for (const language of ['vi', 'en'] as const) {
      const { text } = composeVoiceScript({ decision: DECISIONS[level], station: STATION, language, diacritics: true });
      expect(text.endsWith(language === 'vi' ? 'Bấm phím 1 để xác nhận.' : 'Press 1 to confirm.')).toBe(true);
      expect(text).toBe(text.normalize('NFC'));
      expect(text).not.toMatch(/[°\-−]\d|\d[°]/);
    }
  });
});

describe('composeOfficerMessage', () => {
  const at = DECISIONS.severe.atMs;
  const cases: [OfficerNotice, string, string][] = [
    [
      { kind: 'station_offline', state: 'raised', station: STATION_OTHER_COMMUNE, atMs: at, lastSeenMs: at - 3 * 3_600_000 },
      'frostwatch: trạm Vườn ông Ha (Lát) mất kết nối từ 23:50 15/01. Kiểm tra nguồn điện và sóng điện thoại của trạm.',
      'frostwatch: station Vườn ông Ha (Lát) offline since 23:50 15/01. Check its power and mobile signal.',
    ],
    [
      { kind: 'station_offline', state: 'cleared', station: STATION, atMs: at, lastSeenMs: at },
      'frostwatch: trạm Đạ Sar 01 đã kết nối lại lúc 02:50.',
      'frostwatch: station Đạ Sar 01 back online at 02:50.',
    ],
    [
      { kind: 'sensor_fault', state: 'raised', station: STATION, atMs: at, detail: 'no change over 60 min' },
      'frostwatch: trạm Đạ Sar 01 có thể hỏng cảm biến nhiệt độ (no change over 60 min). Trạm sẽ không báo hết nguy cơ cho đến khi được sửa.',
      'frostwatch: station Đạ Sar 01 may have a faulty temperature sensor (no change over 60 min). It cannot give an all clear until repaired.',
    ],
    [
      { kind: 'low_battery', state: 'raised', station: STATION, atMs: at, batteryV: 3.31 },
      'frostwatch: trạm Đạ Sar 01 pin yếu (3,31 V). Cần sạc hoặc thay pin trước đêm lạnh.',
      'frostwatch: station Đạ Sar 01 battery low (3.31 V). Charge or replace it before the next cold night.',
    ],
    [
      { kind: 'system_armed', atMs: at, reporting: 23, total: 24, silent: ['Lát 02'] },
      'frostwatch: sẵn sàng cho đêm nay, 23/24 trạm đang báo cáo. Chưa báo cáo: Lát 02.',
      'frostwatch: armed for tonight, 23/24 stations reporting. Not reporting: Lát 02.',
    ],
    [
      { kind: 'system_armed', atMs: at, reporting: 16, total: 24, silent: ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8'] },
      'frostwatch: sẵn sàng cho đêm nay, 16/24 trạm đang báo cáo. Chưa báo cáo: s1, s2, s3, s4, s5 và 3 trạm khác.',
      'frostwatch: armed for tonight, 16/24 stations reporting. Not reporting: s1, s2, s3, s4, s5 and 3 more.',
    ],
    [
      { kind: 'delivery_gave_up', atMs: at, recipientName: 'Nguyễn Văn Hà', phone: '+84912345678', channel: 'voice', attempts: 3 },
      'frostwatch: không gọi được cho Nguyễn Văn Hà (+84912345678) sau 3 lần thử. Hãy liên hệ trực tiếp.',
      'frostwatch: could not reach Nguyễn Văn Hà (+84912345678) by phone after 3 attempts. Please contact them directly.',
    ],
    [
      {
        kind: 'dependency_failing',
        state: 'raised',
        dependency: 'InfluxDB',
        atMs: at,
        sinceMs: at - 600_000,
        detail: 'connection refused',
      },
      'frostwatch: InfluxDB không hoạt động từ 02:40 16/01 (connection refused). Cần kiểm tra máy chủ.',
      'frostwatch: InfluxDB failing since 02:40 16/01 (connection refused). Check the server.',
    ],
  ];

  it.each(cases)('%o', (notice, vi, en) => {
    expect(composeOfficerMessage(notice, 'vi').text).toBe(vi);
    expect(composeOfficerMessage(notice, 'en').text).toBe(en);
    const plain = composeOfficerMessage(notice, 'vi', { diacritics: false });
    expect(plain.encoding).toBe('GSM-7');
    expect(plain.text).toBe(toGsm7(vi, 'vi'));
  });
});

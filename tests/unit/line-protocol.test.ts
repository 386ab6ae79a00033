import { describe, expect, it } from 'vitest';
import {
  escapeKey,
  escapeMeasurement,
  floatField,
  integerField,
  quoteFieldString,
  readingLine,
  statusLine,
} from '../../server/influx/line-protocol.js';

describe('line protocol escaping', () => {
  it.each([
    ['readings', 'readings'],
    ['a b', 'a\\ b'],
    ['a,b', 'a\\,b'],
    ['a=b', 'a=b'], // equals signs need no escape in a measurement
    ['x, =y', 'x\\,\\ =y'],
  ])('measurement %j → %j', (input, expected) => {
    expect(escapeMeasurement(input)).toBe(expected);
  });

  it.each([
    ['ld-dasar-01', 'ld-dasar-01'],
    ['a b', 'a\\ b'],
    ['a,b', 'a\\,b'],
    ['a=b', 'a\\=b'],
    ['x" OR 1=1,station=other y', 'x"\\ OR\\ 1\\=1\\,station\\=other\\ y'],
  ])('tag/field key or tag value %j → %j', (input, expected) => {
    expect(escapeKey(input)).toBe(expected);
  });

  it.each([
    ['1.2.3', '"1.2.3"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['back\\slash', '"back\\\\slash"'],
    ['ends with \\', '"ends with \\\\"'],
    ['two\nlines\r', '"two lines "'],
    ['', '""'],
  ])('string field %j → %s', (input, expected) => {
    expect(quoteFieldString(input)).toBe(expected);
  });

  it.each(['a\nb', 'a\rb'])('refuses a newline in a name or tag (%j)', (input) => {
    expect(() => escapeKey(input)).toThrow(RangeError);
    expect(() => escapeMeasurement(input)).toThrow(RangeError);
  });

  it.each([
    [1.5, '1.5'],
    [-2, '-2'],
    [0, '0'],
    [-0.1, '-0.1'],
  ])('float %d → %s', (input, expected) => {
    expect(floatField(input)).toBe(expected);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])('refuses non-finite float %d', (input) => {
    expect(() => floatField(input)).toThrow(RangeError);
  });

  it('writes integers with an i suffix and refuses fractions', () => {
    expect(integerField(5)).toBe('5i');
    expect(integerField(4_294_967_295)).toBe('4294967295i');
    expect(() => integerField(1.5)).toThrow(RangeError);
  });
});

describe('readingLine', () => {
  it('writes every present field, seq as integer, one station tag, ms timestamp', () => {
    const line = readingLine('ld-01', {
      ts: 1_736_812_800_123,
      airTempC: 1.5,
      rhPct: 93,
      windMs: 0.4,
      leafTempC: -1.25,
      batteryV: 3.71,
      rssiDbm: -87,
      seq: 42,
    });
    expect(line).toBe(
      'readings,station=ld-01 airTempC=1.5,rhPct=93,windMs=0.4,leafTempC=-1.25,batteryV=3.71,rssiDbm=-87,seq=42i 1736812800123',
    );
  });

  it('leaves out absent fields', () => {
    expect(readingLine('s1', { ts: 1_700_000_000_000, airTempC: -0.5 })).toBe('readings,station=s1 airTempC=-0.5 1700000000000');
  });

  it('escapes a hostile station id into a single tag value', () => {
    const line = readingLine('a b,c=d', { ts: 1_700_000_000_000, airTempC: 2 });
    expect(line).toBe('readings,station=a\\ b\\,c\\=d airTempC=2 1700000000000');
  });

  it('refuses a fractional timestamp', () => {
    expect(() => readingLine('s1', { ts: 1.5, airTempC: 2 })).toThrow(RangeError);
  });
});

describe('statusLine', () => {
  it.each([
    [{ online: true }, 'status,station=s1 online=true 1700000000000'],
    [{ online: false, fw: '1.4.2', uptimeS: 3600 }, 'status,station=s1 online=false,fw="1.4.2",uptimeS=3600i 1700000000000'],
    [{ online: true, fw: 'v"2"\\x\ny' }, 'status,station=s1 online=true,fw="v\\"2\\"\\\\x y" 1700000000000'],
  ])('%j', (status, expected) => {
    expect(statusLine('s1', status, 1_700_000_000_000)).toBe(expected);
  });
});

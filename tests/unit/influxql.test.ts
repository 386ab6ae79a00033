import { describe, expect, it } from 'vitest';
import { durationLiteral, isDuration, qualifiedMeasurement, quoteIdent, quoteString, timeLiteralMs } from '../../server/influx/influxql.js';
import { readingsQuery } from '../../server/influx/readings-query.js';
import { createWriteApi, makeTarget, parseVersion, queryRequest, v1WritePath } from '../../server/influx/target.js';

describe('InfluxQL quoting', () => {
  it.each([
    ['readings', '"readings"'],
    ['with space', '"with space"'],
    ['quo"te', '"quo\\"te"'],
    ['back\\slash', '"back\\\\slash"'],
    ["single'quote", `"single'quote"`],
    ['new\nline', '"new\\nline"'],
    ['\\"', '"\\\\\\""'],
  ])('identifier %j → %s', (input, expected) => {
    expect(quoteIdent(input)).toBe(expected);
  });

  it.each([
    ['ld-01', "'ld-01'"],
    ["x' OR '1'='1", "'x\\' OR \\'1\\'=\\'1'"],
    ["a\\' OR 1=1 --", "'a\\\\\\' OR 1=1 --'"],
    ['"double"', `'"double"'`],
    ['line\nbreak', "'line\\nbreak'"],
    ['trailing\\', "'trailing\\\\'"],
  ])('string %j → %s', (input, expected) => {
    expect(quoteString(input)).toBe(expected);
  });

  it('writes ms time literals and refuses non-integers', () => {
    expect(timeLiteralMs(1_700_000_000_123)).toBe('1700000000123ms');
    expect(() => timeLiteralMs(1.5)).toThrow(RangeError);
    expect(() => timeLiteralMs(Number.NaN)).toThrow(RangeError);
  });

  it.each([
    ['30s', true],
    ['5m', true],
    ['1h', true],
    ['1d', true],
    ['100ms', true],
    ['0m', false],
    ['5', false],
    ['5m; DROP DATABASE x', false],
    ['1h)', false],
    ['-5m', false],
    ['', false],
  ])('duration %j valid: %s', (input, valid) => {
    expect(isDuration(input)).toBe(valid);
    if (valid) expect(durationLiteral(input)).toBe(input);
    else expect(() => durationLiteral(input)).toThrow(RangeError);
  });

  it('qualifies a measurement with a retention policy', () => {
    expect(qualifiedMeasurement('readings', undefined)).toBe('"readings"');
    expect(qualifiedMeasurement('readings', 'a"b')).toBe('"a\\"b"."readings"');
  });
});

describe('readingsQuery', () => {
  it('builds a raw query with the station as an escaped literal', () => {
    const q = readingsQuery(undefined, "x' OR 1=1", { fromMs: 1_000, toMs: 2_000 });
    expect(q).toBe(
      'SELECT "airTempC", "rhPct", "windMs", "leafTempC", "batteryV", "rssiDbm", "seq" FROM "readings" ' +
        `WHERE "station" = 'x\\' OR 1=1' AND time >= 1000ms AND time <= 2000ms ORDER BY time ASC LIMIT 20000`,
    );
  });

  it('builds an aggregate query grouped by the window', () => {
    const q = readingsQuery('autogen', 's1', { fromMs: 0, toMs: 60_000, every: '5m' });
    expect(q).toContain('mean("airTempC") AS "airTempC"');
    expect(q).toContain('min("airTempC") AS "airTempMinC"');
    expect(q).toContain('max("airTempC") AS "airTempMaxC"');
    expect(q).toContain('FROM "autogen"."readings"');
    expect(q).toContain('GROUP BY time(5m) fill(none)');
  });

  it('refuses an invalid window', () => {
    expect(() => readingsQuery(undefined, 's1', { fromMs: 0, toMs: 1, every: '5m) fill(0' })).toThrow(RangeError);
  });
});

describe('InfluxDB versions and request construction', () => {
  it.each([
    ['1.6.7~rc0', 1],
    ['1.8.10', 1],
    ['v2.7.4', 2],
    ['2.7.1', 2],
    ['3.0.1', 3],
    ['v3.2.0', 3],
  ] as const)('parses X-Influxdb-Version %j as %d', (header, major) => {
    expect(parseVersion(header)).toEqual({ raw: header, major });
  });

  it.each([null, '', 'garbage', '4.0.0', '0.13.0'])('rejects version %j', (header) => {
    expect(parseVersion(header)).toBeNull();
  });

  it('splits db/rp and trims the URL', () => {
    const target = makeTarget({ url: 'http://127.0.0.1:8086/', bucket: 'frost/one_year' });
    expect(target).toMatchObject({
      url: 'http://127.0.0.1:8086',
      database: 'frost',
      retentionPolicy: 'one_year',
      bucket: 'frost/one_year',
    });
    expect(makeTarget({ url: 'http://h', bucket: 'frost' }).retentionPolicy).toBeUndefined();
  });

  it('1.x writes to /write with db, rp, ms precision and u/p, never a token header', () => {
    const target = makeTarget({ url: 'http://127.0.0.1:8086', bucket: 'frost/rp', token: 'admin:p&ss=w rd' });
    expect(v1WritePath(target)).toBe('/write?db=frost&rp=rp&precision=ms&u=admin&p=p%26ss%3Dw+rd');
    expect(createWriteApi(1, target, 1_000).path).toBe(v1WritePath(target));
    const query = queryRequest(1, target, true);
    expect(query.headers.authorization).toBeUndefined();
    expect(new URLSearchParams(query.path.split('?')[1]).get('p')).toBe('p&ss=w rd');
  });

  it('1.x without a token sends no credentials; a token without a colon is refused', () => {
    const target = makeTarget({ url: 'http://127.0.0.1:8086', bucket: 'frost' });
    expect(v1WritePath(target)).toBe('/write?db=frost&precision=ms');
    expect(() => v1WritePath(makeTarget({ url: 'http://h', bucket: 'f', token: 'abc' }))).toThrow(/user:password/);
  });

  it.each([2, 3] as const)('%d.x writes to /api/v2/write with org and bucket and queries with a token', (major) => {
    const target = makeTarget({ url: 'http://127.0.0.1:8181', bucket: 'frost/autogen', token: 'tok', org: 'farm co' });
    expect(createWriteApi(major, target, 1_000).path).toBe('/api/v2/write?org=farm%20co&bucket=frost%2Fautogen&precision=ms');
    const query = queryRequest(major, target, true);
    expect(query.headers.authorization).toBe('Token tok');
    expect(query.path).toBe('/query?epoch=ms&db=frost&rp=autogen');
  });
});

/**
 * InfluxQL quoting. Every identifier and literal that reaches a query goes through these:
 * the scanner accepts `\\`, `\"`, `\'` and `\n` inside quotes and rejects a raw newline
 * (influxql/scanner.go ScanString).
 */
function escapeQuoted(value: string, quote: '"' | "'"): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(quote === '"' ? /"/g : /'/g, `\\${quote}`)
    .replace(/\n/g, '\\n');
  return `${quote}${escaped}${quote}`;
}

/** `"name"`, for measurements, fields, tags, databases and retention policies. */
export function quoteIdent(name: string): string {
  return escapeQuoted(name, '"');
}

/** `'value'`, for string literals such as tag values. */
export function quoteString(value: string): string {
  return escapeQuoted(value, "'");
}

/** An absolute time as an epoch-millisecond literal: `time >= 1700000000000ms`. */
export function timeLiteralMs(epochMs: number): string {
  if (!Number.isSafeInteger(epochMs)) throw new RangeError(`InfluxQL: time must be integer epoch ms, got ${epochMs}`);
  return `${epochMs}ms`;
}

const DURATION = /^[1-9][0-9]{0,5}(ms|s|m|h|d|w)$/;

/** A GROUP BY time() interval such as `5m`; anything else is refused before it reaches a query. */
export function isDuration(value: string): boolean {
  return DURATION.test(value);
}

export function durationLiteral(value: string): string {
  if (!isDuration(value)) throw new RangeError(`InfluxQL: invalid duration ${JSON.stringify(value)}`);
  return value;
}

/** `"rp"."measurement"` when a retention policy is set, else `"measurement"`. */
export function qualifiedMeasurement(measurement: string, retentionPolicy: string | undefined): string {
  const m = quoteIdent(measurement);
  return retentionPolicy === undefined ? m : `${quoteIdent(retentionPolicy)}.${m}`;
}

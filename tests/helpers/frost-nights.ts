import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reading } from '../../contracts/index.js';

/** 136 real nights of DWD 03379 München-Stadt (tests/fixtures/frost-nights, README there). */
const DIR = join(import.meta.dirname, '..', 'fixtures', 'frost-nights');

export const MUNICH = { lat: 48.1632, lon: 11.5429, elevationM: 515 };

export interface Night {
  id: string;
  kind: 'frost' | 'near_miss';
  sunsetMs: number;
  sunriseMs: number;
  minC: number;
  minAtMs: number;
  readings: Reading[];
}

const rows = (file: string): string[][] =>
  readFileSync(join(DIR, file), 'utf8')
    .trim()
    .split(/\r?\n/)
    .slice(1)
    .map((l) => l.split(','));

export function loadFrostNights(): Night[] {
  const byNight = new Map<string, Reading[]>();
  for (const [id, , ts, air, rh] of rows('observations.csv')) {
    const r: Reading = { ts: Date.parse(ts as string), airTempC: Number(air) };
    if (rh) r.rhPct = Number(rh);
    const list = byNight.get(id as string) ?? [];
    list.push(r);
    byNight.set(id as string, list);
  }
  return rows('nights.csv').map(([id, , kind, sunset, sunrise, minC, minAt]) => ({
    id: id as string,
    kind: kind as Night['kind'],
    sunsetMs: Date.parse(sunset as string),
    sunriseMs: Date.parse(sunrise as string),
    minC: Number(minC),
    minAtMs: Date.parse(minAt as string),
    readings: (byNight.get(id as string) ?? []).sort((a, b) => a.ts - b.ts),
  }));
}

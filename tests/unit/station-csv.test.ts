import { describe, expect, it } from 'vitest';
import { parseStationCsv } from '../../server/registry/station-csv.js';
import type { ImportCandidate } from '../../server/registry/stations.js';

function lines(text: string): { line: number; candidate: ImportCandidate }[] {
  const parsed = parseStationCsv(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.lines;
}

function reasonOf(text: string): string {
  const [only] = lines(text);
  if (!only || only.candidate.ok) throw new Error('expected one refused line');
  return only.candidate.reason;
}

const HEADER = 'id,name,commune,lat,lon,elevation_m';

describe('station CSV', () => {
  it('reads the columns of `station add`, with the defaults for empty optional cells', () => {
    const [a, b] = lines(
      `${HEADER},crop,source,device_id,preset\nld-a,Trạm A,Lát,12.02,108.42,1520,,,,\nld-b,B,Lát,12,108,1500,robusta,tasmota,frost_7,\n`,
    );
    expect(a).toEqual({
      line: 2,
      candidate: {
        ok: true,
        station: { id: 'ld-a', name: 'Trạm A', commune: 'Lát', lat: 12.02, lon: 108.42, elevationM: 1520, crop: 'arabica' },
      },
    });
    expect(b?.candidate).toEqual({
      ok: true,
      station: expect.objectContaining({ crop: 'robusta', source: 'tasmota', deviceId: 'frost_7' }) as unknown,
    });
  });

  it('takes the header in any order and case, with a BOM, spaces or dashes; lower-cases a DevEUI as `station add` does', () => {
    const text =
      '\uFEFFDevice-ID ; Source ; Elevation M ; LON ; lat ; Commune ; Name ; ID\nA84041000181C0DE;chirpstack;1500;"108,4";"12,05";Lát;LoRa;ld-lora\n';
    expect(lines(text)).toEqual([
      {
        line: 2,
        candidate: {
          ok: true,
          station: expect.objectContaining({
            id: 'ld-lora',
            lat: 12.05,
            lon: 108.4,
            source: 'chirpstack',
            deviceId: 'a84041000181c0de',
          }) as unknown,
        },
      },
    ]);
  });

  it('numbers lines as the spreadsheet does: the header is 1, blank lines count', () => {
    const found = lines(`${HEADER}\nld-1,A,Lát,12,108,1500\n\n\nld-2,B,Lát,12,108,1500\n`);
    expect(found.map((l) => l.line)).toEqual([2, 5]);
  });

  it.each([
    ['an empty latitude', 'ld-x,X,Lát,,108,1500', /^lat: /],
    ['a latitude out of range', 'ld-x,X,Lát,91,108,1500', /^lat: Too big/],
    ['a hexadecimal number', 'ld-x,X,Lát,12,0x6c,1500', /^lon: /],
    ['an exponent', 'ld-x,X,Lát,12,108,1.5e3', /^elevation_m: /],
    ['an upper-case id', 'LD-X,X,Lát,12,108,1500', /^id: 1–63 lower-case letters/],
    ['no name', 'ld-x,,Lát,12,108,1500', /^name: /],
  ])('refuses %s, naming the column', (_name, row, reason) => {
    expect(reasonOf(`${HEADER}\n${row}\n`)).toMatch(reason);
  });

  it('names device problems by column, once', () => {
    expect(reasonOf(`${HEADER},source\nld-x,X,Lát,12,108,1500,chirpstack\n`)).toBe('device_id: required for source chirpstack');
    expect(reasonOf(`${HEADER},device_id\nld-x,X,Lát,12,108,1500,abc\n`)).toBe(
      'device_id: only for chirpstack, ttn, tasmota, esphome or shelly',
    );
    expect(reasonOf(`${HEADER},source,device_id,preset\nld-x,X,Lát,12,108,1500,tasmota,t1,generic\n`)).toBe(
      'preset: only for chirpstack or ttn',
    );
  });

  it('keeps the id of a refused line for the report', () => {
    const [only] = lines(`${HEADER}\nld-x,X,Lát,200,108,1500\n`);
    expect(only?.candidate).toMatchObject({ ok: false, id: 'ld-x' });
  });

  it.each([
    ['an empty file', '', /the file is empty/],
    ['a missing column', 'id,name,commune,lat,lon\n', /missing column elevation_m/],
    ['an unknown column', `${HEADER},owner\n`, /unknown column "owner"/],
    ['a column twice', `${HEADER},LAT\n`, /column "lat" appears twice/],
    ['unreadable CSV', `${HEADER}\nld-x,"X,Lát,12,108,1500\n`, /not readable as CSV/],
  ])('refuses %s as a whole', (_name, text, error) => {
    const parsed = parseStationCsv(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(error);
  });
});

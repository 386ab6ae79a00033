#!/usr/bin/env node
/**
 * build-nights.mjs — extract cold-season frost and near-miss nights from raw public station files
 * into the frost-nights layout (observations.csv + nights.csv), same as tests/fixtures/frost-nights.
 *
 * Plain Node 20 ESM, no dependencies. Sunset/sunrise: contracts/solar.ts itself (NOAA solar calculator), from the
 * build in dist/ — run `npm run build` first.
 *
 * Usage:
 *   node scripts/real-nights/build-nights.mjs --format <fmt> --station <ID> --lat <deg> --lon <deg>
 *        --elev <m> --out <dir> [--months 10,11,12,1,2,3,4] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
 *        [--uscrn-temp T_CALC|T_HR_AVG] [--append] <raw file> [<raw file> ...]
 *   formats: uscrn-hourly   (NOAA USCRN hourly02, CRNH0203-YYYY-*.txt; space- or comma-separated copies)
 *            uscrn-subhourly (NOAA USCRN subhourly01, CRNS0101-05-YYYY-*.txt)
 *            dwd-10min      (DWD CDC 10_minutes/air_temperature, produkt_zehn_min_tu_*.txt)
 *            dwd-hourly     (DWD CDC hourly/air_temperature, produkt_tu_stunde_*.txt)
 *            frost-nights   (an observations.csv in this very layout — used to check this script
 *                            against tests/fixtures/frost-nights)
 * Rules (see datasets/real-nights/README.md):
 *   night = local sunset -> sunrise + 3 h (nightOf as in contracts/solar.ts); night_id date = local
 *   (mean solar time) date of the evening; only nights whose evening falls in --months;
 *   coverage >= 80 % of the expected observations (cadence grid) with an air temperature;
 *   frost: min 2 m air <= 0 °C or min ground <= -2 °C; near_miss: not frost and 1 <= min air <= 5 °C.
 *   Values are copied as the source writes them; missing codes become empty; rows without air
 *   temperature are dropped. USCRN values whose QC flag is not 0 are treated as missing.
 */
import fs from 'node:fs';
import path from 'node:path';

// Sunset and sunrise: the server's own code (contracts/solar.ts), as built by `npm run build`.
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const { nightOf } = await import(new URL('../../dist/contracts/solar.js', import.meta.url).href).catch(() => {
  process.stderr.write('build-nights: run `npm run build` first (it uses dist/contracts/solar.js)\n');
  process.exit(1);
});

function parseArgs(argv) {
  const opts = { files: [], months: '10,11,12,1,2,3,4', 'uscrn-temp': 'T_CALC', coverage: '0.8' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--append') opts.append = true;
    else if (a.startsWith('--')) opts[a.slice(2)] = argv[++i];
    else opts.files.push(a);
  }
  for (const k of ['format', 'station', 'lat', 'lon', 'elev', 'out']) if (opts[k] === undefined) throw new Error(`missing --${k}`);
  if (!/^[A-Za-z0-9_.-]+$/.test(opts.station)) throw new Error('station id must match [A-Za-z0-9_.-]+');
  return opts;
}

// ---------------------------------------------------------------- readers -> {t, air, rh, dew, wind, ground} (strings, '' = missing)
const utc = (y, mo, d, h, mi) => Date.UTC(+y, +mo - 1, +d, +h, +mi);
const clean = (v, missing) => {
  if (v === undefined) return '';
  const s = v.trim();
  if (s === '' || missing.includes(Number(s))) return '';
  return s;
};
function readUscrnHourly(text, tempCol) {
  // hourly02 fields (1-based): 9 T_CALC, 10 T_HR_AVG, 21 SUR_TEMP, 22 SUR_TEMP_FLAG, 27 RH_HR_AVG, 28 RH_HR_AVG_FLAG
  const ti = tempCol === 'T_HR_AVG' ? 9 : 8;
  const out = [];
  for (const line of text.split('\n')) {
    // original NOAA files are space-separated; some repositories carry copies where every space was
    // replaced by a comma (`sed 's/ /,/g'`) or that are plain 38-field CSV: split on runs of both then.
    const f = line.includes(',') ? line.trim().split(/[\s,]+/) : line.trim().split(/\s+/);
    if (f.length < 28 || !/^\d{8}$/.test(f[1])) continue;
    const t = utc(f[1].slice(0, 4), f[1].slice(4, 6), f[1].slice(6, 8), f[2].slice(0, 2), f[2].slice(2, 4));
    const miss = [-9999, -99];
    out.push({
      t,
      air: clean(f[ti], miss),
      ground: f[21] === '0' ? clean(f[20], miss) : '',
      rh: f[27] === '0' ? clean(f[26], miss) : '',
      dew: '',
      wind: '',
    });
  }
  return out;
}
function readUscrnSubhourly(text) {
  // subhourly01 fields (1-based): 9 AIR_TEMPERATURE, 13 SURFACE_TEMPERATURE, 15 ST_FLAG, 16 RELATIVE_HUMIDITY, 17 RH_FLAG, 22 WIND_1_5, 23 WIND_FLAG
  const out = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 23 || !/^\d{8}$/.test(f[1])) continue;
    const t = utc(f[1].slice(0, 4), f[1].slice(4, 6), f[1].slice(6, 8), f[2].slice(0, 2), f[2].slice(2, 4));
    const miss = [-9999, -99];
    out.push({
      t,
      air: clean(f[8], miss),
      ground: f[14] === '0' ? clean(f[12], miss) : '',
      rh: f[16] === '0' ? clean(f[15], miss) : '',
      dew: '',
      wind: f[22] === '0' ? clean(f[21], miss) : '',
    });
  }
  return out;
}
function readDwd(text, tenMin) {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const head = lines[0].split(';').map((s) => s.trim());
  const col = (n) => head.indexOf(n);
  const iT = col(tenMin ? 'TT_10' : 'TT_TU');
  const iRh = col(tenMin ? 'RF_10' : 'RF_TU');
  const iTd = tenMin ? col('TD_10') : -1;
  const iT5 = tenMin ? col('TM5_10') : -1;
  const iD = col('MESS_DATUM');
  const out = [];
  for (const line of lines.slice(1)) {
    const f = line.split(';');
    const d = f[iD].trim();
    // DWD CDC: MESS_DATUM is UTC for data from 2000 on (YYYYMMDDHH hourly, YYYYMMDDHHMM 10-minute)
    const t = utc(d.slice(0, 4), d.slice(4, 6), d.slice(6, 8), d.slice(8, 10), tenMin ? d.slice(10, 12) : '00');
    const miss = [-999];
    out.push({
      t,
      air: clean(f[iT], miss),
      rh: iRh >= 0 ? clean(f[iRh], miss) : '',
      dew: iTd >= 0 ? clean(f[iTd], miss) : '',
      ground: iT5 >= 0 ? clean(f[iT5], miss) : '',
      wind: '',
    });
  }
  return out;
}
function readFrostNightsCsv(text) {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.slice(1).map((l) => {
    const f = l.split(',');
    return { t: Date.parse(f[2]), air: f[3], rh: f[4], dew: f[5], wind: f[6], ground: f[7] };
  });
}

// ---------------------------------------------------------------- nights
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
function localDate(ms, lon) {
  return new Date(ms + lon * 4 * MINUTE_MS).toISOString().slice(0, 10);
}
function main() {
  const o = parseArgs(process.argv.slice(2));
  const lat = Number(o.lat),
    lon = Number(o.lon);
  const months = new Set(o.months.split(',').map(Number));
  let recs = [];
  for (const file of o.files) {
    const text = fs.readFileSync(file, 'latin1');
    if (o.format === 'uscrn-hourly') recs.push(...readUscrnHourly(text, o['uscrn-temp']));
    else if (o.format === 'uscrn-subhourly') recs.push(...readUscrnSubhourly(text));
    else if (o.format === 'dwd-10min') recs.push(...readDwd(text, true));
    else if (o.format === 'dwd-hourly') recs.push(...readDwd(text, false));
    else if (o.format === 'frost-nights') recs.push(...readFrostNightsCsv(text));
    else throw new Error(`unknown format ${o.format}`);
  }
  // de-duplicate on timestamp (first wins), sort, drop rows without air temperature
  const seen = new Set();
  recs = recs.filter((r) => Number.isFinite(r.t) && r.air !== '' && !seen.has(r.t) && seen.add(r.t)).sort((a, b) => a.t - b.t);
  if (recs.length === 0) throw new Error('no records');
  // cadence = most common spacing
  const gaps = new Map();
  for (let i = 1; i < recs.length; i++) {
    const g = recs[i].t - recs[i - 1].t;
    gaps.set(g, (gaps.get(g) ?? 0) + 1);
  }
  const cadenceMs = [...gaps.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const cadenceMin = cadenceMs / MINUTE_MS;
  const from = o.from ? Date.parse(o.from + 'T00:00:00Z') : -Infinity;
  const to = o.to ? Date.parse(o.to + 'T23:59:59Z') : Infinity;

  const nights = [];
  const obsRows = [];
  // walk day by day: the night following each local day
  let day = Math.floor((recs[0].t + lon * 4 * MINUTE_MS) / DAY_MS) * DAY_MS - lon * 4 * MINUTE_MS - DAY_MS; // local midnight (UTC ms)
  const lastT = recs[recs.length - 1].t;
  let idx = 0;
  for (; day <= lastT; day += DAY_MS) {
    const noon = day + 12 * 3_600_000;
    const { sunsetMs, sunriseMs } = nightOf(lat, lon, noon);
    const endMs = sunriseMs + 3 * 3_600_000;
    const evening = localDate(sunsetMs, lon);
    const month = Number(evening.slice(5, 7));
    if (!months.has(month)) continue;
    if (sunsetMs < from || sunsetMs > to) continue;
    while (idx < recs.length && recs[idx].t < sunsetMs) idx++;
    const win = [];
    for (let j = idx; j < recs.length && recs[j].t <= endMs; j++) win.push(recs[j]);
    const expected = Math.floor(endMs / cadenceMs) - Math.ceil(sunsetMs / cadenceMs) + 1;
    if (win.length < Number(o.coverage) * expected) continue;
    let minAir = Infinity,
      minAirT = 0,
      minAirS = '',
      minG = Infinity,
      minGS = '',
      inversion = false;
    for (const r of win) {
      const a = Number(r.air);
      if (a < minAir) {
        minAir = a;
        minAirT = r.t;
        minAirS = r.air;
      }
      if (r.ground !== '') {
        const g = Number(r.ground);
        if (g < minG) {
          minG = g;
          minGS = r.ground;
        }
        if (g <= a - 1.5 + 1e-9) inversion = true;
      }
    }
    const frost = minAir <= 0 || (minGS !== '' && minG <= -2);
    const nearMiss = !frost && minAir >= 1 && minAir <= 5;
    if (!frost && !nearMiss) continue;
    const id = `${o.station}_${evening}`;
    nights.push(
      [
        id,
        o.station,
        frost ? 'frost' : 'near_miss',
        iso(sunsetMs),
        iso(sunriseMs),
        minAirS,
        iso(minAirT),
        minGS,
        o.lat,
        o.lon,
        o.elev,
        String(cadenceMin),
        inversion ? 'yes' : 'no',
      ].join(','),
    );
    for (const r of win) obsRows.push([id, o.station, iso(r.t), r.air, r.rh, r.dew, r.wind, r.ground].join(','));
  }
  fs.mkdirSync(o.out, { recursive: true });
  const nPath = path.join(o.out, 'nights.csv');
  const oPath = path.join(o.out, 'observations.csv');
  const nHead =
    'night_id,station,kind,sunset_utc,sunrise_utc,min_air_c,time_of_min_utc,min_ground_c,lat,lon,elevation_m,resolution_min,strong_ground_inversion';
  const oHead = 'night_id,station,ts_utc,air_temp_c,rh_pct,dew_point_c,wind_ms,ground_temp_c';
  const write = (p, head, rows) => {
    if (o.append && fs.existsSync(p)) fs.appendFileSync(p, rows.map((r) => r + '\n').join(''));
    else fs.writeFileSync(p, [head, ...rows].join('\n') + '\n');
  };
  write(nPath, nHead, nights);
  write(oPath, oHead, obsRows);
  const frostN = nights.filter((n) => n.split(',')[2] === 'frost').length;
  console.log(
    `${o.station}: cadence ${cadenceMin} min, ${recs.length} records ${iso(recs[0].t)}..${iso(lastT)}; nights: ${frostN} frost, ${nights.length - frostN} near_miss; ${obsRows.length} observation rows -> ${o.out}`,
  );
}
main();

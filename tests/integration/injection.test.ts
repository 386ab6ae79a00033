import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isSqlite } from '../../server/registry/db.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Alert, type Clock, type Farmer, type ReadingsResponse, type Station, type StationOverview } from '../../contracts/index.js';
import { readingLine } from '../../server/influx/line-protocol.js';
import { launchChromium, screenshot } from '../helpers/browser.js';
import { type FullApp, stationBody, startFullApp } from '../helpers/full-app.js';

/**
 * Injection through every parameter (issue 6): InfluxQL through station ids, windows and ranges; SQL through names,
 * communes and filters; HTML/script through names and alert reasons. Through the real app (inject), a real influxd,
 * a real SQLite file, and once through a real Chromium.
 */
const NOW = Date.UTC(2026, 0, 15, 22, 0, 0);
const clock: Clock = { now: () => NOW, speed: 1 };
const ROOT = join(import.meta.dirname, '..', '..');

const SQL = [`x'); DROP TABLE farmers; --`, `' OR '1'='1`, `Robert"; DELETE FROM stations; --`, `1; UPDATE users SET role='admin'`];
const INFLUXQL = [
  `ld-inj-01' OR station =~ /.*/ --`,
  `ld-inj-01'; DROP DATABASE frostwatch_full_app; --`,
  `ld-inj-01" OR 1=1`,
  `ld-inj-01\\' OR '1'='1`,
  'ld-inj-01\nDROP DATABASE frostwatch_full_app',
];
const HTML = [
  `<script>window.__xss = 1</script>`,
  `<img src=x onerror="window.__xss = 2">`,
  `"><svg onload="window.__xss=3">`,
  `=HYPERLINK("http://evil.example")`,
];
const XSS_NAME = `<img src=x onerror="window.__xss = 'map'">`;
const XSS_REASON = `<img src=x onerror="window.__xss = 'reason'"> forecast −1 °C`;

let fx: FullApp;
let tablesBefore: string[];

beforeAll(async () => {
  fx = await startFullApp({ clock });
  for (const id of ['ld-inj-01', 'ld-inj-02']) await fx.stations.create(stationBody(id));
  // A reading for each; an injected query that widens the WHERE would return the other station's.
  await fx.influx.conn.writeLines([
    readingLine('ld-inj-01', { ts: NOW - 60_000, airTempC: 1.5 }),
    readingLine('ld-inj-02', { ts: NOW - 60_000, airTempC: 9.5 }),
  ]);
  tablesBefore = tables();
}, 120_000);

afterAll(async () => {
  // Also runs when beforeAll failed part-way, before this was assigned.
  await (fx as FullApp | undefined)?.close();
});

function tables(): string[] {
  // SQLite's catalogue, or PostgreSQL's (the vitest project that runs this file on DATABASE_URL).
  const sql = isSqlite(fx.db)
    ? `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
    : `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY name`;
  return fx.db
    .prepare<[], { name: string }>(sql)
    .all()
    .map((r) => r.name);
}

const get = (url: string) => fx.app.inject({ method: 'GET', url, headers: fx.headers['admin-token'] });
const send = (method: 'POST' | 'PUT', url: string, payload: unknown, headers: Record<string, string> = {}) =>
  fx.app.inject({ method, url, headers: { ...fx.headers['admin-token'], ...headers }, payload: payload as string });

describe('InfluxQL injection', () => {
  it.each(INFLUXQL)('refuses %j as a station id in every path that reaches InfluxDB', async (id) => {
    const path = encodeURIComponent(id);
    for (const url of [
      `/api/stations/${path}/readings`,
      `/api/stations/${path}/chart`,
      `/api/stations/${path}`,
      `/api/stations/${path}/token`,
    ]) {
      const res = url.endsWith('/token') ? await send('POST', url, undefined) : await get(url);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(400);
    }
    // A filter, not a path: no such station, so nothing.
    const alerts = await get(`/api/alerts?stationId=${path}`);
    expect(alerts.statusCode).toBe(200);
    expect(alerts.json()).toEqual([]);
  });

  it('refuses injected windows, ranges and dates before InfluxDB is asked', async () => {
    const base = '/api/stations/ld-inj-01';
    const bad = [
      `${base}/readings?every=${encodeURIComponent('5m) fill(none); DROP DATABASE frostwatch_full_app; --')}`,
      `${base}/readings?every=${encodeURIComponent('1m,station')}`,
      `${base}/readings?from=${encodeURIComponent(`2026-01-15T00:00:00Z' OR '1'='1`)}`,
      `${base}/readings?to=${encodeURIComponent('now() - 1h')}`,
      `${base}/chart?range=${encodeURIComponent('night; DROP DATABASE x')}`,
      `/api/reports/night?date=${encodeURIComponent(`2026-01-14' OR 1=1`)}`,
      `/api/reports/season?from=${encodeURIComponent('2026-01-01; DROP DATABASE x')}&to=2026-01-15`,
      `/api/reports/season?from=2025-12-01&to=2026-01-15&format=${encodeURIComponent('csv; rm -rf')}`,
    ];
    for (const url of bad) expect((await get(url)).statusCode, url).toBe(400);
  });

  it('still answers exactly one station, and the database is still there', async () => {
    const from = new Date(NOW - 3_600_000).toISOString();
    const res = await get(`/api/stations/ld-inj-01/readings?from=${from}`);
    expect(res.statusCode).toBe(200);
    expect(res.json<ReadingsResponse>().readings.map((r) => r.airTempC)).toEqual([1.5]);
    expect((await fx.influx.conn.query(`SHOW DATABASES`)).flatMap((s) => s.values.flat())).toContain(fx.influx.database);
  });
});

describe('SQL injection', () => {
  it.each(SQL)('stores %j verbatim as a name, a commune and a filter, and changes nothing else', async (text) => {
    const id = `ld-sql-${SQL.indexOf(text)}`;
    const created = await send('POST', '/api/stations', stationBody(id, { name: text, commune: text }));
    expect(created.statusCode, created.body).toBe(201);
    const station = (await get(`/api/stations/${id}`)).json<Station>();
    expect([station.name, station.commune]).toEqual([text.trim(), text.trim()]);

    const farmer = await send('POST', '/api/farmers', {
      name: text,
      phone: `+849123450${SQL.indexOf(text)}0`,
      commune: text,
      stationIds: [id],
    });
    expect(farmer.statusCode, farmer.body).toBe(201);
    expect(farmer.json<Farmer>()).toMatchObject({ name: text.trim(), commune: text.trim() });
    const commune = await send('PUT', `/api/communes/${encodeURIComponent(text)}/station`, { stationId: id });
    expect(commune.statusCode, commune.body).toBe(200);
    expect(commune.json()).toMatchObject({ commune: text.trim() });

    const csv = `name,phone,commune,station_ids\n"${text.replaceAll('"', '""')}",+8491234${SQL.indexOf(text)}999,"${text.replaceAll('"', '""')}",${id}\n`;
    const imported = await send('POST', '/api/farmers/import', csv, { 'content-type': 'text/csv' });
    expect(imported.json()).toMatchObject({ created: 1, failed: 0 });

    for (const url of [
      `/api/alerts?stationId=${encodeURIComponent(text)}`,
      `/api/audit?action=${encodeURIComponent(text)}`,
      `/api/audit?actor=${encodeURIComponent(text)}`,
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.json<unknown[] | { entries: unknown[] }>()).toSatisfy(
        (v: unknown[] | { entries: unknown[] }) => (Array.isArray(v) ? v : v.entries).length === 0,
      );
    }
    const users = await send('POST', '/api/users', { username: text, name: text, role: 'admin', password: 'long-enough-password' });
    expect(users.statusCode).toBe(400);
  });

  it('kept every table and every row it was given', async () => {
    expect(tables()).toEqual(tablesBefore);
    const stations = (await get('/api/stations')).json<Station[]>().map((s) => s.id);
    expect(stations).toEqual(expect.arrayContaining(['ld-inj-01', 'ld-inj-02', ...SQL.map((_, i) => `ld-sql-${i}`)]));
    expect((await get('/api/farmers')).json<Farmer[]>()).toHaveLength(SQL.length * 2);
    // The admins are the one created on first start and the fixture's: none was made by an injected string.
    const admins = (await get('/api/users')).json<{ role: string; username: string }[]>().filter((u) => u.role === 'admin');
    expect(admins.map((u) => u.username).sort()).toEqual([fx.server.bootstrapUser?.username, 'admin-user'].sort());
  });

  it('builds no SQL from values: every ${…} inside SQL text is a constant string of its file', () => {
    // The alert filter joins constant conditions ('status = ?'); the values go as parameters.
    const allowed = new Set(["where.join(' AND ')", "where.length ? `WHERE ${where.join(' AND ')}` : ''"]);
    const found: string[] = [];
    let checked = 0;
    for (const file of tsFiles(join(ROOT, 'server'))) {
      const text = readFileSync(file, 'utf8');
      for (const literal of text.match(/`[^`]*\b(SELECT|INSERT|UPDATE|DELETE|WHERE|PRAGMA|CREATE)\b[^`]*`/g) ?? []) {
        if (!/\b(FROM|INTO|SET|TABLE)\b/.test(literal) || isInfluxQl(literal)) continue; // prose, and InfluxQL (quoted by influxql.ts)
        checked += 1;
        for (const [, expr] of literal.matchAll(/\$\{([^}]*)\}/g))
          if (!allowed.has(expr!) && !isConstantString(text, expr!)) found.push(`${file}: ${expr}`);
      }
    }
    expect(checked).toBeGreaterThan(30);
    expect(found).toEqual([]);
  });
});

/** `const NAME = '…'`, or a template whose own substitutions are such constants, in the same file. */
function isConstantString(fileText: string, expr: string, depth = 0): boolean {
  if (!/^[A-Za-z_$][\w$]*$/.test(expr) || depth > 3) return false;
  const quoted = new RegExp(`const ${expr}\\s*=\\s*(['"])(?:(?!\\1)[^\\n\\\\])*\\1\\s*;`);
  if (quoted.test(fileText)) return true;
  const template = new RegExp(`const ${expr}\\s*=\\s*\`([^\`]*)\``).exec(fileText);
  if (!template) return false;
  return [...template[1]!.matchAll(/\$\{([^}]*)\}/g)].every(([, inner]) => isConstantString(fileText, inner!, depth + 1));
}

function isInfluxQl(literal: string): boolean {
  return /quoteIdent|quoteString|timeLiteralMs|qualifiedMeasurement|\$\{from\}|\$\{where\}|\$\{windows\}|\$\{columns\}/.test(literal);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? tsFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

describe('HTML and script in names and reasons', () => {
  it.each(HTML)('returns %j verbatim as JSON in every answer that shows it', async (text) => {
    const i = HTML.indexOf(text);
    const id = `ld-html-${i}`;
    expect((await send('POST', '/api/stations', stationBody(id, { name: text, commune: text }))).statusCode).toBe(201);
    const alertId = fx.openAlert(id, text, NOW - 60_000);
    for (const url of ['/api/stations', '/api/overview', `/api/alerts/${alertId}`, `/api/stations/${id}/chart?range=24h`]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toMatch(/^application\/json/);
      expect(res.body, url).toContain(JSON.stringify(text).slice(1, -1));
    }
    expect((await get('/api/overview')).json<StationOverview[]>().find((s) => s.id === id)?.name).toBe(text);
    expect((await get(`/api/alerts/${alertId}`)).json<Alert>().events?.[0]?.reason).toBe(text);
    // The spreadsheet export: a formula-looking name is defused with a leading apostrophe.
    const csv = (await get('/api/reports/night?date=2026-01-15&format=csv')).body;
    expect(csv).not.toMatch(/(^|,)"?=HYPERLINK/m);
    if (text.startsWith('=')) expect(csv).toContain(`"'=HYPERLINK(""http://evil.example"")"`);
  });

  it('renders data only as text in the dashboard source: no innerHTML, and Leaflet gets elements, not HTML strings', () => {
    const offenders: string[] = [];
    for (const file of tsFiles(join(ROOT, 'dashboard', 'src')).concat(tsxFiles(join(ROOT, 'dashboard', 'src')))) {
      const text = readFileSync(file, 'utf8');
      if (/dangerouslySetInnerHTML|\.innerHTML\s*=|insertAdjacentHTML|outerHTML\s*=|document\.write/.test(text))
        offenders.push(`${file}: HTML sink`);
      for (const [call] of text.matchAll(/\.(bindTooltip|bindPopup|setTooltipContent|setPopupContent|setContent)\(\s*[`'"]/g))
        offenders.push(`${file}: ${call} with a string`);
    }
    expect(offenders).toEqual([]);
  });

  it('shows a hostile station name and alert reason as text in a real browser', async () => {
    await fx.stations.create(stationBody('ld-xss', { name: XSS_NAME, lat: 12.1, lon: 108.55 }));
    const alertId = fx.openAlert('ld-xss', XSS_REASON, NOW - 60_000);
    const baseUrl = await fx.app.listen({ port: 0, host: '127.0.0.1' });
    const browser = await launchChromium();
    try {
      const context = await browser.newContext();
      const session = /fw_session=([^;]+)/.exec(fx.headers.admin.cookie ?? '')?.[1] ?? '';
      await context.addCookies([{ name: 'fw_session', value: session, url: baseUrl }]);
      const page = await context.newPage();
      await page.goto(`${baseUrl}/#/overview`);
      await page.getByTestId('marker-ld-xss').hover();
      const tooltip = page.locator('.leaflet-tooltip');
      await tooltip.waitFor();
      expect(await tooltip.textContent()).toContain(XSS_NAME);
      expect(await page.getByTestId('station-row-ld-xss').textContent()).toContain(XSS_NAME);
      await page.goto(`${baseUrl}/#/alerts`);
      await page.getByTestId(`alert-toggle-${alertId}`).click();
      await page.getByTestId(`alert-detail-${alertId}`).waitFor();
      expect(await page.getByTestId(`alert-detail-${alertId}`).textContent()).toContain(XSS_REASON);
      // The audit page shows the hostile communes of the stations registered above, in its details column.
      await page.goto(`${baseUrl}/#/audit`);
      await page.getByTestId('audit-list').locator('tbody tr').first().waitFor();
      expect(await page.getByTestId('audit-list').textContent()).toContain('station.create');
      expect(await page.getByTestId('audit-list').textContent()).toContain('<img src=x onerror=');
      await page.screenshot({ path: screenshot('injection-text-only'), fullPage: true });
      expect(await page.evaluate('document.querySelectorAll("img[src=x]").length')).toBe(0);
      expect(await page.evaluate('window.__xss')).toBeUndefined();
    } finally {
      await browser.close();
    }
  });
});

function tsxFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? tsxFiles(full) : full.endsWith('.tsx') ? [full] : [];
  });
}

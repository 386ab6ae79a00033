import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../server/influx/free-port.js';
import { eventually, mosquittoPub } from '../helpers/mqtt.js';
import { type SystemUnderTest, registerStation, startSystem } from '../helpers/system-under-test.js';

/**
 * deploy/prometheus and deploy/grafana against the real tools and a real frostwatch: promtool checks the rules and runs
 * their unit tests (frostwatch.rules.test.yml: each alert firing, and silent on its near miss); every metric the rules
 * and the dashboard name must be on a running `frostwatch up`'s /metrics; and a real Prometheus, configured from the
 * example prometheus.yml, scrapes it with METRICS_TOKEN from a credentials file, loads the rules and accepts every
 * dashboard query. promtool and prometheus come from Debian's `prometheus` package.
 */

const PROMETHEUS_DIR = join(import.meta.dirname, '..', '..', 'deploy', 'prometheus');
const RULES = join(PROMETHEUS_DIR, 'frostwatch.rules.yml');
const DASHBOARD = join(import.meta.dirname, '..', '..', 'deploy', 'grafana', 'frostwatch.json');
const PROMTOOL = '/usr/bin/promtool';
const PROMETHEUS = '/usr/bin/prometheus';
const METRICS_TOKEN = 'metrics-token-for-the-scraper-0123';

function run(file: string, args: string[], cwd?: string): Promise<{ code: number; out: string }> {
  if (!existsSync(file)) throw new Error(`${file} not found: install Debian's \`prometheus\` package (apt-get install prometheus)`);
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

/** Metric names (ours all start `frostwatch_`) in a PromQL text: rule expressions, dashboard queries. */
function metricNames(promql: string): string[] {
  return promql.match(/\bfrostwatch_[a-z0-9_]+/g) ?? [];
}

interface Panel {
  type: string;
  id: number;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
  panels?: Panel[];
}
interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown; definition?: string }> };
  annotations: { list: Array<{ expr?: string }> };
}

async function dashboard(): Promise<Dashboard> {
  return JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Every PromQL text of the dashboard: panel targets, the instance variable's query, the alerts annotation. */
function dashboardQueries(d: Dashboard): string[] {
  return [
    ...allPanels(d.panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...d.templating.list.flatMap((v) => (v.definition ? [v.definition] : [])),
    ...d.annotations.list.flatMap((a) => (a.expr ? [a.expr] : [])),
  ];
}

/** The rules' expressions, read from the YAML text: each `expr:` line, or the folded block under `expr: >-`. */
function ruleExpressions(yaml: string): string[] {
  const exprs: string[] = [];
  const lines = yaml.split('\n');
  lines.forEach((line, i) => {
    const match = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!match) return;
    const [, indent = '', rest = ''] = match;
    if (rest !== '>-') return void exprs.push(rest);
    const block: string[] = [];
    for (let j = i + 1; j < lines.length && (lines[j] ?? '').startsWith(`${indent}  `); j++) block.push((lines[j] ?? '').trim());
    exprs.push(block.join(' '));
  });
  return exprs;
}

describe('deploy/prometheus with promtool', () => {
  it('promtool check rules accepts the rules', async () => {
    const { code, out } = await run(PROMTOOL, ['check', 'rules', RULES]);
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
    expect(code).toBe(0);
  });

  it('promtool test rules: every alert fires on its case and stays silent on its near miss', async () => {
    const { code, out } = await run(PROMTOOL, ['test', 'rules', 'frostwatch.rules.test.yml'], PROMETHEUS_DIR);
    expect(out).toContain('SUCCESS');
    expect(code).toBe(0);
  });

  it('every alert is unit-tested, has a for:, a severity and a summary', async () => {
    const rules = await readFile(RULES, 'utf8');
    const tests = await readFile(join(PROMETHEUS_DIR, 'frostwatch.rules.test.yml'), 'utf8');
    const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1] ?? '');
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    for (const alert of alerts) {
      expect(tests, `${alert} has no unit test`).toContain(`alertname: ${alert}`);
      const body = rules.slice(rules.indexOf(`- alert: ${alert}`)).split('- alert: ')[1] ?? '';
      expect(body, alert).toMatch(/\n\s+for: \d+m/);
      expect(body, alert).toMatch(/severity: (critical|warning)/);
      expect(body, alert).toMatch(/summary: /);
    }
  });
});

describe('deploy/grafana/frostwatch.json', () => {
  it('is a dashboard of schema 39 whose every query goes to the ${DS_PROMETHEUS} data source', async () => {
    const d = await dashboard();
    expect(d.schemaVersion).toBe(39);
    expect(d.templating.list).toContainEqual(expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', query: 'prometheus' }));
    const panels = allPanels(d.panels);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
    // The panels the issue asks for, by what they query.
    const queries = dashboardQueries(d).join('\n');
    for (const metric of [
      'frostwatch_stations_reporting',
      'frostwatch_gateway_connected_stations',
      'frostwatch_readings_stored_total',
      'frostwatch_gateway_messages_total',
      'frostwatch_spool_backlog_bytes',
      'frostwatch_influx_up',
      'frostwatch_influx_write_failures_total',
      'frostwatch_notify_queue_depth',
      'frostwatch_notify_oldest_pending_seconds',
      'frostwatch_notify_sent_total',
      'frostwatch_notify_failed_total',
      'frostwatch_notify_gave_up_total',
      'frostwatch_notify_retries_total',
      'frostwatch_alert_events_total',
    ])
      expect(queries).toContain(metric);
  });
});

describe('the rules and the dashboard against a running frostwatch', () => {
  let sut: SystemUnderTest;
  let prometheus: ChildProcess | undefined;
  let promDir: string | undefined;
  let promOutput = '';

  beforeAll(async () => {
    sut = await startSystem({ METRICS_TOKEN });
    const token = await registerStation(sut, 'ld-prom');
    const pub = await mosquittoPub([
      ...['-h', '127.0.0.1', '-p', String(sut.ports.mqtt), '-u', 'ld-prom', '-P', token, '-q', '1'],
      ...['-t', 'stations/ld-prom/readings', '-m', JSON.stringify({ ts: Date.now() - 1_000, airTempC: 3.1, rhPct: 90, seq: 1 })],
    ]);
    expect(pub).toEqual({ code: 0, stderr: '' });
  });
  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await once(prometheus, 'exit');
    }
    if (promDir) await rm(promDir, { recursive: true, force: true });
    await (sut as SystemUnderTest | undefined)?.stop();
    // The token is a secret: it must never reach the log.
    expect(sut.fw.output()).not.toContain(METRICS_TOKEN);
  });

  it('every metric the rules and the dashboard name is on /metrics (with the token)', async () => {
    const res = await fetch(`${sut.httpUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    // A labelled counter with no sample yet (nothing sent) is still declared: its # TYPE line is what exists.
    const declared = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const used = new Set([...ruleExpressions(await readFile(RULES, 'utf8')), ...dashboardQueries(await dashboard())].flatMap(metricNames));
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((name) => !declared.has(name))).toEqual([]);
    // The new series, with the values this system has: one station, heard just now; nothing waiting.
    expect(text).toMatch(/^frostwatch_stations_registered 1$/m);
    expect(text).toMatch(/^frostwatch_stations_reporting 1$/m);
    expect(text).toMatch(/^frostwatch_notify_oldest_pending_seconds 0$/m);
    expect(text).toMatch(/^frostwatch_health_check_ok\{check="sqlite"\} 1$/m);
  });

  it('/metrics refuses a scraper without the token', async () => {
    const res = await fetch(`${sut.httpUrl}/metrics`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('a real Prometheus scrapes it with the token from credentials_file, loads the rules, and runs every dashboard query', async () => {
    promDir = await mkdtemp(join(tmpdir(), 'frostwatch-prometheus-'));
    const tokenFile = join(promDir, 'frostwatch-metrics-token');
    await writeFile(tokenFile, METRICS_TOKEN, { mode: 0o600 });
    await copyFile(RULES, join(promDir, 'frostwatch.rules.yml'));
    // The example configuration as shipped, pointed at this system, its token file here, and scraping every second.
    const config = (await readFile(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8'))
      .replaceAll('/etc/prometheus/frostwatch-metrics-token', tokenFile)
      .replace("'127.0.0.1:8080'", `'127.0.0.1:${sut.ports.http}'`)
      .replace(/(scrape|evaluation)_interval: 30s/g, '$1_interval: 1s');
    expect(config).toContain(`credentials_file: ${tokenFile}`);
    await writeFile(join(promDir, 'prometheus.yml'), config);
    const checked = await run(PROMTOOL, ['check', 'config', join(promDir, 'prometheus.yml')]);
    expect(checked.out).toContain('SUCCESS');

    const port = await findFreePort();
    if (!existsSync(PROMETHEUS)) throw new Error(`${PROMETHEUS} not found: install Debian's \`prometheus\` package`);
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(promDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(promDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.on('data', (chunk: Buffer) => (promOutput += chunk.toString()));
    prometheus.stderr?.on('data', (chunk: Buffer) => (promOutput += chunk.toString()));
    const api = async <T>(path: string): Promise<T> => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/${path}`);
      const body = (await res.json()) as { status: string; data: T; error?: string };
      if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? res.status}`);
      return body.data;
    };
    type Vector = { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    const query = (q: string) => api<Vector>(`query?query=${encodeURIComponent(q)}`);

    try {
      await eventually(async () => {
        const up = await query('up{job="frostwatch"}');
        expect(up.result.map((r) => r.value[1])).toEqual(['1']);
        const reporting = await query('frostwatch_stations_reporting{job="frostwatch"}');
        expect(reporting.result.map((r) => r.value[1])).toEqual(['1']);
      }, 30_000);
    } catch (error) {
      throw new Error(`Prometheus did not scrape frostwatch: ${String(error)}\n${promOutput.slice(-3_000)}`);
    }

    const rules = await api<{ groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> }>('rules');
    const loaded = rules.groups.flatMap((g) => g.rules);
    expect(loaded.length).toBe([...(await readFile(RULES, 'utf8')).matchAll(/- alert: /g)].length);
    await eventually(async () => {
      const again = await api<typeof rules>('rules');
      const unhealthy = again.groups.flatMap((g) => g.rules).filter((r) => r.health !== 'ok');
      expect(unhealthy).toEqual([]);
    }, 15_000);
    // A healthy system raises nothing. (Pending is possible: FrostwatchAbsent is evaluated before the first scrape.)
    const firing = await query('ALERTS{alertstate="firing"}');
    expect(firing.result.map((r) => r.metric['alertname'])).toEqual([]);

    // Each dashboard query, with Grafana's variables filled in, is valid PromQL to this Prometheus.
    for (const q of dashboardQueries(await dashboard())) {
      const filled = q.replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m');
      if (filled.startsWith('label_values(')) continue; // Grafana's variable query, not PromQL
      await expect(query(filled), q).resolves.toMatchObject({ resultType: 'vector' });
    }
  });
});

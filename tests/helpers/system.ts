import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { findFreePort } from '../../server/influx/free-port.js';
import { type WatchedProcess, watchProcess } from '../../testkit/process.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface SystemPorts {
  http: number;
  mqtt: number;
  ws: number;
}

export type FrostwatchProcess = WatchedProcess;
export { watchProcess };

export async function freePorts(): Promise<SystemPorts> {
  return { http: await findFreePort(), mqtt: await findFreePort(), ws: await findFreePort() };
}

/** Run the real `frostwatch` command (built in dist/) with exactly the environment given; `stdin` is typed into it. */
export function runFrostwatch(args: string[], env: Record<string, string>, stdin?: string): FrostwatchProcess {
  const proc = spawn(process.execPath, [CLI, ...args], {
    // Issue 16's schedules off unless a test asks: no forecast fetched from the internet, nothing held or called.
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      LOG_LEVEL: 'warn',
      FORECAST_URL: 'off',
      QUIET_HOURS: 'off',
      SURVEY_CALLS: 'off',
      ...env,
    },
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (stdin !== undefined) proc.stdin?.end(stdin);
  return watchProcess(proc);
}

/** The listening ports of `frostwatch up` as its environment. */
export function portsEnv(ports: SystemPorts): Record<string, string> {
  return { HTTP_PORT: String(ports.http), MQTT_PORT: String(ports.mqtt), MQTT_WS_PORT: String(ports.ws) };
}

/** Poll `/health` until it answers (any status) or the process dies. */
export async function waitForHttp(baseUrl: string, fw: FrostwatchProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false as boolean; // set by the callback below, which flow analysis does not see
  void fw.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`frostwatch exited before serving HTTP:\n${fw.output()}`);
    try {
      const res = await fetch(`${baseUrl}/health`);
      await res.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`frostwatch did not serve ${baseUrl}/health within ${timeoutMs} ms:\n${fw.output()}`);
}

/** A response as it came: the test says what it expects the body to be. */
export interface ApiResponse {
  status: number;
  body: unknown;
}

export interface Api {
  get(path: string): Promise<ApiResponse>;
  post(path: string, body?: unknown): Promise<ApiResponse>;
}

export function api(baseUrl: string, token: string): Api {
  const call = async (method: string, path: string, body?: unknown): Promise<ApiResponse> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : null;
    return { status: res.status, body: parsed };
  };
  return { get: (path) => call('GET', path), post: (path, body) => call('POST', path, body) };
}

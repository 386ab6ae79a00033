import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TwilioTestServer } from '../../testkit/twilio-server.js';
import { type Api, type FrostwatchProcess, api, freePorts, runFrostwatch, waitForHttp } from './system.js';
import { ADMIN_TOKEN } from './system-under-test.js';

/** Which rung of the ladder an SMS announces, read from its opening words (frost/messages-text.ts). */
export function levelOf(body: string | undefined): 'watch' | 'warning' | 'severe' | 'all_clear' | 'other' {
  const text = body ?? '';
  if (/^(Chú ý sương muối|Chu y suong muoi|Frost watch)/.test(text)) return 'watch';
  if (/^(CẢNH BÁO|CANH BAO|FROST WARNING)/.test(text)) return 'warning';
  if (/^(KHẨN CẤP|KHAN CAP|SEVERE FROST)/.test(text)) return 'severe';
  if (/^(Đã hết nguy cơ|Da het nguy co|Frost all clear)/.test(text)) return 'all_clear';
  return 'other';
}

/** Run a CLI admin command against DATA_DIR and insist it worked. */
export async function admin(dataDir: string, args: string[], stdin?: string): Promise<string> {
  const fw = runFrostwatch(args, { DATA_DIR: dataDir }, stdin);
  const code = await fw.exited;
  if (code !== 0) throw new Error(`frostwatch ${args.join(' ')} failed (${code}):\n${fw.output()}`);
  return fw.output();
}

export const PHONES = {
  ha: '+84912345678', // farmer on sim-01, Vietnamese
  lan: '+84987654321', // Hà's household: second in his chain
  smith: '+84913000111', // farmer on sim-02, English, no diacritics
  tu: '+84903111222', // farmer of commune Lát through its representative station sim-01, no answer
  tuWife: '+84903111333', // Tư's household
  officer: '+84904555666',
};

/**
 * A district before the night: three stations (registered under the ids the simulator uses), three farmers
 * reaching them three ways — direct, direct in English without diacritics, and by commune — and an officer.
 */
export async function prepareDistrict(): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'frostwatch-night-'));
  for (const id of ['sim-01', 'sim-02', 'sim-03']) {
    await admin(dataDir, [
      'station',
      'add',
      '--id',
      id,
      '--name',
      `Trạm ${id.slice(4)}`,
      '--commune',
      'Lát',
      '--lat',
      '12.03',
      '--lon',
      '108.40',
      '--elevation',
      '1550',
    ]);
  }
  await admin(dataDir, [
    'farmer',
    'add',
    '--name',
    'Nguyễn Văn Hà',
    '--phone',
    '0912 345 678',
    '--station',
    'sim-01',
    '--contact',
    'household:Chị Lan:0987 654 321',
  ]);
  await admin(dataDir, [
    'farmer',
    'add',
    '--name',
    'John Smith',
    '--phone',
    '0913 000 111',
    '--language',
    'en',
    '--no-diacritics',
    '--station',
    'sim-02',
  ]);
  await admin(dataDir, ['commune', 'set-station', 'Lát', 'sim-01', '--offset', '-1']);
  await admin(dataDir, [
    'farmer',
    'add',
    '--name',
    'Trần Văn Tư',
    '--phone',
    '0903 111 222',
    '--commune',
    'Lát',
    '--contact',
    'household:Cô Mai:0903 111 333',
  ]);
  await admin(dataDir, ['officer', 'add', '--name', 'Cán bộ Khuyến nông', '--phone', '0904 555 666']);
  return dataDir;
}

/** Frost SMS per phone, in the order the Twilio-compatible server received them. */
export function smsLevelsByPhone(twilio: TwilioTestServer): Map<string, string[]> {
  const byPhone = new Map<string, string[]>();
  for (const r of twilio.created('message')) {
    const level = levelOf(r.body);
    if (level === 'other' || r.to === undefined) continue;
    byPhone.set(r.to, [...(byPhone.get(r.to) ?? []), level]);
  }
  return byPhone;
}

export interface FrostNightRun {
  fw: FrostwatchProcess;
  http: Api;
  baseUrl: string;
  /** Start `frostwatch up` again on the same data, the simulated clock resuming at `startIso`. */
  restart(startIso: string): Promise<void>;
  stop(): Promise<void>;
}

export const NIGHT_SPEED = 600; // a 17-hour evening and night in under two minutes

/** `frostwatch up` with three simulated stations on a frost night, warning through the Twilio-compatible server. */
export async function runFrostNight(
  dataDir: string,
  twilio: TwilioTestServer,
  influxUrl: string,
  startIso: string,
): Promise<FrostNightRun> {
  const ports = await freePorts();
  const baseUrl = `http://127.0.0.1:${ports.http}`;
  const env = {
    DATA_DIR: dataDir,
    HTTP_PORT: String(ports.http),
    MQTT_PORT: String(ports.mqtt),
    MQTT_WS_PORT: String(ports.ws),
    INFLUX_URL: influxUrl,
    ADMIN_TOKEN,
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_AUTH_TOKEN: twilio.authToken,
    TWILIO_FROM: '+15005550006',
    TWILIO_API_URL: twilio.url,
    PUBLIC_URL: baseUrl,
  };
  const start = (at: string) =>
    runFrostwatch(['up', '--sim', '3', '--scenario', 'frost-night', '--speed', String(NIGHT_SPEED), '--start', at], env);
  const run: FrostNightRun = {
    fw: start(startIso),
    http: api(baseUrl, ADMIN_TOKEN),
    baseUrl,
    restart: async (at) => {
      run.fw = start(at);
      await waitForHttp(baseUrl, run.fw);
    },
    stop: async () => {
      await run.fw.kill('SIGTERM');
    },
  };
  await waitForHttp(baseUrl, run.fw);
  return run;
}

/** Plays the phones: Hà presses 1 on every call; everyone else lets it ring out. Returns a stop function. */
export function playPhones(twilio: TwilioTestServer): () => void {
  const answered = new Set<string>();
  const timer = setInterval(() => {
    for (const call of twilio.created('call')) {
      if (call.sid === undefined || answered.has(call.sid)) continue;
      answered.add(call.sid);
      void (call.to === PHONES.ha ? twilio.answerCall(call.sid, '1') : twilio.callStatus(call.sid, 'no-answer')).catch(() =>
        answered.delete(call.sid!),
      );
    }
  }, 200);
  return () => clearInterval(timer);
}

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TwilioTestServer } from './twilio-server.js';
import { runFrostwatch } from './system.js';

/** Which rung of the ladder an SMS announces, read from its opening words (alerts/messages-text.ts). */
export function levelOf(body: string | undefined): 'watch' | 'warning' | 'severe' | 'all_clear' | 'other' {
  const text = body ?? '';
  if (/^(Chú ý sương muối|Chu y suong muoi|Frost watch)/.test(text)) return 'watch';
  if (/^(CẢNH BÁO|CANH BAO|FROST WARNING)/.test(text)) return 'warning';
  if (/^(KHẨN CẤP|KHAN CAP|SEVERE FROST)/.test(text)) return 'severe';
  if (/^(Đã hết nguy cơ|Da het nguy co|Frost all clear)/.test(text)) return 'all_clear';
  return 'other';
}

/** Run a CLI admin command against DATA_DIR and insist it worked. */
export async function admin(dataDir: string, args: string[]): Promise<string> {
  const fw = runFrostwatch(args, { DATA_DIR: dataDir });
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
    await admin(dataDir, ['station', 'add', '--id', id, '--name', `Trạm ${id.slice(4)}`, '--commune', 'Lát', '--lat', '12.03', '--lon', '108.40', '--elevation', '1550']);
  }
  await admin(dataDir, ['farmer', 'add', '--name', 'Nguyễn Văn Hà', '--phone', '0912 345 678', '--station', 'sim-01', '--contact', 'household:Chị Lan:0987 654 321']);
  await admin(dataDir, ['farmer', 'add', '--name', 'John Smith', '--phone', '0913 000 111', '--language', 'en', '--no-diacritics', '--station', 'sim-02']);
  await admin(dataDir, ['commune', 'set-station', 'Lát', 'sim-01', '--offset', '-1']);
  await admin(dataDir, ['farmer', 'add', '--name', 'Trần Văn Tư', '--phone', '0903 111 222', '--commune', 'Lát', '--contact', 'household:Cô Mai:0903 111 333']);
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

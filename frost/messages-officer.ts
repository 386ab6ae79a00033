import type { Language } from '../contracts/index.js';
import { DEFAULT_MESSAGE_OPTIONS, type MessageOptions } from './messages-facts.js';
import { formatClock, formatClockDate, formatTemp, measure, toGsm7, type ComposedSms } from './messages-format.js';

/**
 * Notices for agriculture officers: station health, the nightly "armed" summary, deliveries that gave up and
 * failing dependencies. Officers have smartphones, so no segment limit is enforced, but lists are capped.
 */
interface StationRef {
  name: string;
  commune: string;
}

export type OfficerNotice = (
  | { kind: 'station_offline'; state: 'raised' | 'cleared'; station: StationRef; atMs: number; lastSeenMs: number | null }
  | { kind: 'sensor_fault'; state: 'raised' | 'cleared'; station: StationRef; atMs: number; detail?: string }
  | { kind: 'low_battery'; state: 'raised' | 'cleared'; station: StationRef; atMs: number; batteryV: number | null }
  | { kind: 'system_armed'; atMs: number; reporting: number; total: number; silent?: string[] }
  /** The phone is shown in full on purpose: the officer has to call that person now. */
  | { kind: 'delivery_gave_up'; atMs: number; recipientName: string; phone: string; channel: 'sms' | 'voice'; attempts: number }
  | { kind: 'dependency_failing'; state: 'raised' | 'cleared'; dependency: string; atMs: number; sinceMs: number; detail?: string }
  /** The afternoon's pre-alerts by commune: the coldest corrected minimum of each, and how many farmers were told. */
  | { kind: 'prealert_summary'; atMs: number; communes: { commune: string; lead: 'tonight' | 'tomorrow'; minC: number }[]; farmers: number }
  /** No usable forecast this afternoon: no pre-alert was decided; the night's warnings work as always. */
  | { kind: 'forecast_unavailable'; atMs: number; stations: number; detail?: string }
) & {
  /**
   * The district the notice is about, named at its start ("frostwatch (Đức Trọng): …") where officers of several
   * districts share an installation; absent with one district, and for notices about the system as a whole.
   */
  district?: string;
};

/** More names than this turn into "and N more": the summary must stay one readable SMS. */
const MAX_LISTED = 5;
const PREFIX = 'frostwatch: ';

export function composeOfficerMessage(
  notice: OfficerNotice,
  language: Language,
  options: Partial<MessageOptions> & { diacritics?: boolean } = {},
): ComposedSms {
  const opts = { ...DEFAULT_MESSAGE_OPTIONS, ...options };
  const prefix = notice.district === undefined ? PREFIX : `frostwatch (${notice.district}): `;
  const text = `${prefix}${(language === 'vi' ? viText : enText)(notice, opts.timeZone)}`.normalize('NFC');
  return measure(options.diacritics === false ? toGsm7(text, language) : text, opts.smsCostUsdPerSegment);
}

function station(s: StationRef, language: Language): string {
  const commune = s.commune.trim();
  const inName = commune === '' || s.name.toLocaleLowerCase('vi').includes(commune.toLocaleLowerCase('vi'));
  return `${language === 'vi' ? 'trạm' : 'station'} ${s.name}${inName ? '' : ` (${commune})`}`;
}

function listed(names: string[] | undefined, more: (n: number) => string): string {
  if (!names || names.length === 0) return '';
  const shown = names.slice(0, MAX_LISTED).join(', ');
  return names.length > MAX_LISTED ? `${shown} ${more(names.length - MAX_LISTED)}` : shown;
}

function volts(v: number | null, language: Language): string {
  return v === null ? '' : ` (${language === 'vi' ? v.toFixed(2).replace('.', ',') : v.toFixed(2)} V)`;
}

function viText(n: OfficerNotice, tz: string): string {
  switch (n.kind) {
    case 'station_offline':
      return n.state === 'raised'
        ? `${station(n.station, 'vi')} mất kết nối${n.lastSeenMs === null ? '' : ` từ ${formatClockDate(n.lastSeenMs, tz)}`}. Kiểm tra nguồn điện và sóng điện thoại của trạm.`
        : `${station(n.station, 'vi')} đã kết nối lại lúc ${formatClock(n.atMs, tz)}.`;
    case 'sensor_fault':
      return n.state === 'raised'
        ? `${station(n.station, 'vi')} có thể hỏng cảm biến nhiệt độ${n.detail ? ` (${n.detail})` : ''}. Trạm sẽ không báo hết nguy cơ cho đến khi được sửa.`
        : `cảm biến ${station(n.station, 'vi')} hoạt động bình thường lại lúc ${formatClock(n.atMs, tz)}.`;
    case 'low_battery':
      return n.state === 'raised'
        ? `${station(n.station, 'vi')} pin yếu${volts(n.batteryV, 'vi')}. Cần sạc hoặc thay pin trước đêm lạnh.`
        : `pin ${station(n.station, 'vi')} đã ổn${volts(n.batteryV, 'vi')}.`;
    case 'system_armed': {
      const silent = listed(n.silent, (k) => `và ${k} trạm khác`);
      return `sẵn sàng cho đêm nay, ${n.reporting}/${n.total} trạm đang báo cáo.${silent ? ` Chưa báo cáo: ${silent}.` : ''}`;
    }
    case 'delivery_gave_up':
      return `${n.channel === 'sms' ? 'không gửi được tin cảnh báo đến' : 'không gọi được cho'} ${n.recipientName} (${n.phone}) sau ${n.attempts} lần thử. Hãy liên hệ trực tiếp.`;
    case 'prealert_summary':
      return `báo trước sương muối đã gửi ${n.farmers} nông dân. ${listed(
        n.communes.map((c) => `${c.commune} ${c.lead === 'tonight' ? 'đêm nay' : 'đêm mai'} ~${formatTemp(c.minC, 'vi')}`),
        (k) => `và ${k} xã khác`,
      )}.`;
    case 'forecast_unavailable':
      return `không có dự báo thời tiết mới cho ${n.stations} trạm${n.detail ? ` (${n.detail})` : ''}: chiều nay không gửi báo trước. Cảnh báo ban đêm từ trạm vẫn hoạt động.`;
    case 'dependency_failing':
      return n.state === 'raised'
        ? `${n.dependency} không hoạt động từ ${formatClockDate(n.sinceMs, tz)}${n.detail ? ` (${n.detail})` : ''}. Cần kiểm tra máy chủ.`
        : `${n.dependency} đã hoạt động lại lúc ${formatClock(n.atMs, tz)}.`;
  }
}

function enText(n: OfficerNotice, tz: string): string {
  switch (n.kind) {
    case 'station_offline':
      return n.state === 'raised'
        ? `${station(n.station, 'en')} offline${n.lastSeenMs === null ? '' : ` since ${formatClockDate(n.lastSeenMs, tz)}`}. Check its power and mobile signal.`
        : `${station(n.station, 'en')} back online at ${formatClock(n.atMs, tz)}.`;
    case 'sensor_fault':
      return n.state === 'raised'
        ? `${station(n.station, 'en')} may have a faulty temperature sensor${n.detail ? ` (${n.detail})` : ''}. It cannot give an all clear until repaired.`
        : `${station(n.station, 'en')} sensor working again at ${formatClock(n.atMs, tz)}.`;
    case 'low_battery':
      return n.state === 'raised'
        ? `${station(n.station, 'en')} battery low${volts(n.batteryV, 'en')}. Charge or replace it before the next cold night.`
        : `${station(n.station, 'en')} battery fine again${volts(n.batteryV, 'en')}.`;
    case 'system_armed': {
      const silent = listed(n.silent, (k) => `and ${k} more`);
      return `armed for tonight, ${n.reporting}/${n.total} stations reporting.${silent ? ` Not reporting: ${silent}.` : ''}`;
    }
    case 'delivery_gave_up': {
      const who = `${n.recipientName} (${n.phone})`;
      return `${n.channel === 'sms' ? `could not deliver the SMS warning to ${who}` : `could not reach ${who} by phone`} after ${n.attempts} attempts. Please contact them directly.`;
    }
    case 'prealert_summary':
      return `frost pre-alert sent to ${n.farmers} farmers. ${listed(
        n.communes.map((c) => `${c.commune} ${c.lead} ~${formatTemp(c.minC, 'en')}`),
        (k) => `and ${k} more communes`,
      )}.`;
    case 'forecast_unavailable':
      return `no fresh weather forecast for ${n.stations} stations${n.detail ? ` (${n.detail})` : ''}: no pre-alert this afternoon. The stations' night warnings work as always.`;
    case 'dependency_failing':
      return n.state === 'raised'
        ? `${n.dependency} failing since ${formatClockDate(n.sinceMs, tz)}${n.detail ? ` (${n.detail})` : ''}. Check the server.`
        : `${n.dependency} working again at ${formatClock(n.atMs, tz)}.`;
  }
}

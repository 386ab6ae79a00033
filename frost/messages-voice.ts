import type { Language } from '../contracts/index.js';
import {
  actByDeadlineMs,
  DEFAULT_MESSAGE_OPTIONS,
  expectedMinimum,
  type FarmerMessageInput,
  type MessageOptions,
} from './messages-facts.js';
import { clockParts, stripDiacritics } from './messages-format.js';

/**
 * What a warning call says (TwiML `<Say>`), ending with the keypress that acknowledges it (docs/operations.md: Twilio has
 * no two-way SMS in Vietnam, so acknowledgement goes by voice). Written for the ear: numbers and times in words
 * a speech engine reads naturally ("âm 1 phẩy 5 độ C", "2 giờ 10"), no symbols.
 */
export interface VoiceScript {
  text: string;
  /** The `<Say language>` to use. */
  language: 'vi-VN' | 'en-US';
}

export const VOICE_CONFIRM: Record<Language, string> = { vi: 'Bấm phím 1 để xác nhận.', en: 'Press 1 to confirm.' };

export function composeVoiceScript(input: FarmerMessageInput, options: Partial<MessageOptions> = {}): VoiceScript {
  const opts = { ...DEFAULT_MESSAGE_OPTIONS, ...options };
  const { decision } = input;
  const offset = input.offsetC ?? 0;
  const say = input.language === 'vi' ? vi : en;
  const station = input.station.name.normalize('NFC').trim();
  const commune = input.station.commune.normalize('NFC').trim();
  const min = decision.to === 'all_clear' ? null : expectedMinimum(decision.inputs);
  const minAt = decision.inputs.forecastMinAtMs;
  const deadline = actByDeadlineMs(input, opts);
  const air = decision.inputs.airTempC;
  const trend = decision.inputs.trendCPerH;
  const spokenClock = (ms: number) => say.clock(clockParts(ms, opts.timeZone));
  const sentences = [
    say.intro(decision.to, station, commune),
    air === null ? null : say.now(spokenClock(decision.atMs), say.temp(air + offset), trend === null ? 0 : trend, offset !== 0),
    min === null ? null : say.low(say.temp(min + offset), minAt === null ? null : spokenClock(minAt)),
    say.action(decision.to, deadline === null ? null : spokenClock(deadline)),
    VOICE_CONFIRM[input.language],
  ];
  const text = sentences
    .filter((s) => s !== null)
    .join(' ')
    .normalize('NFC');
  // An English voice reads Vietnamese letters badly; plain letters give a recognisable name.
  return { text: input.language === 'vi' ? text : stripDiacritics(text), language: input.language === 'vi' ? 'vi-VN' : 'en-US' };
}

type Level = FarmerMessageInput['decision']['to'];

interface Speech {
  intro(level: Level, station: string, commune: string): string;
  now(clock: string, temp: string, trendCPerH: number, farm: boolean): string;
  low(temp: string, clock: string | null): string;
  action(level: Level, by: string | null): string;
  temp(c: number): string;
  clock(parts: { hour: number; minute: number }): string;
}

const VI_LEVEL: Record<Level, string> = {
  watch: 'thông báo theo dõi sương muối',
  warning: 'cảnh báo sương muối',
  severe: 'cảnh báo sương muối khẩn cấp',
  all_clear: 'thông báo hết nguy cơ sương muối',
};

const vi: Speech = {
  intro: (level, station, commune) => `Đây là ${VI_LEVEL[level]} của trạm ${station}, xã ${commune}.`,
  now: (clock, temp, trend, farm) =>
    `Lúc ${clock}, nhiệt độ ${farm ? 'tại vườn khoảng ' : ''}${temp}${trend <= -0.3 ? ' và đang giảm' : trend >= 0.3 ? ' và đang tăng' : ''}.`,
  low: (temp, clock) => `Dự báo thấp nhất ${temp}${clock ? ` lúc ${clock}` : ' trước khi trời sáng'}.`,
  action: (level, by) => {
    switch (level) {
      case 'watch':
        return 'Hãy chuẩn bị sẵn vật che phủ, nước tưới và vật liệu đốt khói.';
      case 'warning':
        return `Hãy che phủ cây non và tưới nước ${by ? `trước ${by}` : 'ngay tối nay'}, chuẩn bị đốt khói.`;
      case 'severe':
        return `Hãy che phủ cây non, tưới nước và đốt khói ngay${by ? `, trước ${by}` : ''}.`;
      case 'all_clear':
        return 'Có thể dỡ vật che phủ khi nắng lên.';
    }
  },
  temp: (c) => {
    const rounded = Math.round(Math.abs(c) * 10) / 10;
    const [whole, tenth] = rounded.toFixed(1).split('.');
    const sign = c <= -0.05 ? 'âm ' : '';
    return `${sign}${whole}${tenth === '0' ? '' : ` phẩy ${tenth}`} độ C`;
  },
  clock: ({ hour, minute }) => (minute === 0 ? `${hour} giờ` : `${hour} giờ ${minute}`),
};

const EN_LEVEL: Record<Level, string> = {
  watch: 'frost watch',
  warning: 'frost warning',
  severe: 'severe frost alert',
  all_clear: 'frost all clear',
};

const en: Speech = {
  intro: (level, station, commune) => `This is a ${EN_LEVEL[level]} from station ${station}, ${commune}.`,
  now: (clock, temp, trend, farm) =>
    `At ${clock}, ${farm ? 'your farm was about' : 'it was'} ${temp}${trend <= -0.3 ? ' and falling' : trend >= 0.3 ? ' and rising' : ''}.`,
  low: (temp, clock) => `The expected low is ${temp}${clock ? ` at ${clock}` : ' before dawn'}.`,
  action: (level, by) => {
    switch (level) {
      case 'watch':
        return 'Get covers, water and smoke material ready.';
      case 'warning':
        return `Cover young trees and water ${by ? `before ${by}` : 'this evening'}, and get smoke fires ready.`;
      case 'severe':
        return `Cover young trees, water and light smoke fires now${by ? `, before ${by}` : ''}.`;
      case 'all_clear':
        return 'Covers can come off once the sun is up.';
    }
  },
  temp: (c) => {
    const rounded = Math.round(Math.abs(c) * 10) / 10;
    const sign = c <= -0.05 ? 'minus ' : '';
    return `${sign}${rounded.toFixed(1).replace(/\.0$/, '')} degrees`;
  },
  clock: ({ hour, minute }) => `${hour % 12 === 0 ? 12 : hour % 12}:${String(minute).padStart(2, '0')} ${hour < 12 ? 'AM' : 'PM'}`,
};

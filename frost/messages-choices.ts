import type { Language } from '../contracts/index.js';
import { DEFAULT_MESSAGE_OPTIONS, type MessageOptions } from './messages-facts.js';
import { formatTemp, measure, toGsm7, type ComposedSms } from './messages-format.js';

/**
 * Farmers in control (docs/operations.md, "Farmers in control"): how every message says to stop, the confirmations of
 * a farmer's choice, the afternoon pre-alert and the morning survey call. Pure, like the warning texts.
 */

/**
 * How a farmer can stop: `reply` where the SMS number takes replies (SMS_REPLIES=on), `officer` where it cannot
 * (Vietnam: Twilio has no two-way SMS there) — then by keypress in a call, or through the commune's officer.
 */
export type StopHint = 'reply' | 'officer';

export const STOP_HINT: Record<Language, Record<StopHint, string>> = {
  vi: { reply: 'Ngừng: nhắn DUNG.', officer: 'Ngừng: báo cán bộ xã.' },
  en: { reply: 'Reply STOP to stop.', officer: 'To stop, tell your officer.' },
};

/** What a farmer may ask for, by SMS reply or keypress. */
export type FarmerChoice = 'stop' | 'start' | 'en' | 'vi' | 'help';

/**
 * The reply words, matched on the whole message, case, diacritics and surrounding punctuation ignored (Twilio matches
 * its own opt-out keywords the same way). Twilio's standard English keywords are understood too.
 */
const WORDS: Record<FarmerChoice, readonly string[]> = {
  stop: ['DUNG', 'DUNG LAI', 'NGUNG', 'HUY', 'STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPTOUT', 'REVOKE'],
  start: ['TIEP', 'TIEP TUC', 'BAT DAU', 'START', 'UNSTOP', 'YES'],
  en: ['EN', 'ENGLISH', 'TIENG ANH'],
  vi: ['VI', 'VN', 'TIENG VIET', 'VIETNAMESE'],
  help: ['HELP', 'INFO', 'TRO GIUP', 'GIUP', 'HUONG DAN'],
};

export function parseChoice(body: string): FarmerChoice | null {
  const word = body
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[đĐ]/g, 'D')
    .toUpperCase()
    .replace(/[^A-Z0-9 ]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  for (const [choice, words] of Object.entries(WORDS) as [FarmerChoice, readonly string[]][]) if (words.includes(word)) return choice;
  return null;
}

const PREFIX = 'frostwatch: ';

const CONFIRM: Record<Language, Record<FarmerChoice, Record<StopHint, string>>> = {
  vi: {
    stop: {
      reply: 'Bạn đã ngừng nhận cảnh báo sương muối. Nhắn TIEP để nhận lại.',
      officer: 'Bạn đã ngừng nhận cảnh báo sương muối. Muốn nhận lại, báo cán bộ xã.',
    },
    start: {
      reply: 'Bạn sẽ nhận lại cảnh báo sương muối. Nhắn DUNG để ngừng.',
      officer: 'Bạn sẽ nhận lại cảnh báo sương muối. Ngừng: báo cán bộ xã.',
    },
    en: { reply: 'Tin nhắn sẽ bằng tiếng Anh. Nhắn VI cho tiếng Việt.', officer: 'Tin nhắn sẽ bằng tiếng Anh.' },
    vi: { reply: 'Tin nhắn sẽ bằng tiếng Việt. Nhắn EN cho tiếng Anh.', officer: 'Tin nhắn sẽ bằng tiếng Việt.' },
    help: {
      reply: 'Cảnh báo sương muối cho vườn cà phê. Nhắn DUNG để ngừng, TIEP để nhận lại, EN: tiếng Anh. Hỏi cán bộ khuyến nông xã.',
      officer: 'Cảnh báo sương muối cho vườn cà phê. Muốn ngừng hay đổi ngôn ngữ, báo cán bộ khuyến nông xã.',
    },
  },
  en: {
    stop: {
      reply: 'You will no longer get frost warnings. Reply START to get them again.',
      officer: 'You will no longer get frost warnings. To get them again, tell your officer.',
    },
    start: {
      reply: 'You will get frost warnings again. Reply STOP to stop.',
      officer: 'You will get frost warnings again. To stop, tell your officer.',
    },
    en: { reply: 'Messages will be in English. Reply VI for Vietnamese.', officer: 'Messages will be in English.' },
    vi: { reply: 'Messages will be in Vietnamese. Reply EN for English.', officer: 'Messages will be in Vietnamese.' },
    help: {
      reply: 'Frost warnings for coffee farms. Reply STOP to stop, START to resume, VI for Vietnamese. Ask your commune officer.',
      officer: 'Frost warnings for coffee farms. To stop or change language, tell your commune officer.',
    },
  },
};

export function composeChoiceReply(
  choice: FarmerChoice,
  language: Language,
  hint: StopHint,
  diacritics: boolean,
  options: Partial<MessageOptions> = {},
): ComposedSms {
  const opts = { ...DEFAULT_MESSAGE_OPTIONS, ...options };
  const text = `${PREFIX}${CONFIRM[language][choice][hint]}`.normalize('NFC');
  return measure(diacritics ? text : toGsm7(text, language), opts.smsCostUsdPerSegment);
}

/** A pre-alert for one farmer: the nights that look frosty and the coldest corrected minimum at their farm. */
export interface PreAlertInput {
  nights: readonly ('tonight' | 'tomorrow')[];
  station: string;
  commune: string;
  /** At the farm: the corrected minimum plus the farm's offset. */
  minC: number;
  language: Language;
  diacritics: boolean;
  hint: StopHint;
}

/** "đêm nay / đêm mai có thể có sương muối": a day's warning to get covers, water and smoke ready; the night confirms. */
export function composePreAlert(input: PreAlertInput, options: Partial<MessageOptions> = {}): ComposedSms {
  const opts = { ...DEFAULT_MESSAGE_OPTIONS, ...options };
  const both = input.nights.includes('tonight') && input.nights.includes('tomorrow');
  const first = input.nights[0] ?? 'tonight';
  const place = input.commune.trim() === '' ? input.station : `${input.station} (${input.commune})`;
  const text =
    input.language === 'vi'
      ? `${PREFIX}${both ? 'Đêm nay và đêm mai' : first === 'tonight' ? 'Đêm nay' : 'Đêm mai'} có thể có sương muối ở trạm ${place}, dự báo thấp nhất khoảng ${formatTemp(input.minC, 'vi')}. Chuẩn bị che phủ cây non, nước tưới. Sẽ báo tiếp ban đêm. ${STOP_HINT.vi[input.hint]}`
      : `${PREFIX}Frost possible ${both ? 'tonight and tomorrow night' : first === 'tonight' ? 'tonight' : 'tomorrow night'} at station ${place}, forecast low about ${formatTemp(input.minC, 'en')}. Get covers and water ready; we confirm at night. ${STOP_HINT.en[input.hint]}`;
  const nfc = text.normalize('NFC');
  return measure(input.diacritics ? nfc : toGsm7(nfc, input.language), opts.smsCostUsdPerSegment);
}

/** The keys at the end of every call (docs/operations.md): the same choices as the SMS words, for phones without replies. */
export const CALL_MENU: Record<Language, string> = {
  vi: 'Bấm 9 để ngừng nhận cảnh báo. Bấm 2 để nghe bằng tiếng Anh. Bấm 0 để nghe hướng dẫn.',
  en: 'Press 9 to stop frost warnings. Press 2 for Vietnamese. Press 0 for help.',
};

export const CALL_SAY: Record<
  Language,
  { confirmStop: string; stopped: string; language: string; help: string; surveyThanks: string; survey: string; goodbye: string }
> = {
  vi: {
    confirmStop: 'Bạn muốn ngừng nhận cảnh báo sương muối. Bấm 9 lần nữa để xác nhận.',
    stopped: 'Đã ngừng nhận cảnh báo. Muốn nhận lại, báo cán bộ xã. Xin chào.',
    language: 'From now on, messages will be in English. Goodbye.',
    help: 'Đây là cảnh báo sương muối cho vườn cà phê của bạn. Muốn ngừng hay đổi ngôn ngữ, báo cán bộ khuyến nông xã. Xin chào.',
    surveyThanks: 'Cảm ơn. Đã ghi nhận.',
    survey:
      'Đây là frostwatch. Sau đêm lạnh vừa qua, vườn cà phê của bạn thế nào? Bấm 1 nếu không bị hại. Bấm 2 nếu cháy lá. Bấm 3 nếu mất cây non. Bấm 4 nếu thiệt hại nặng.',
    goodbye: 'Xin chào.',
  },
  en: {
    confirmStop: 'You asked to stop frost warnings. Press 9 again to confirm.',
    stopped: 'Frost warnings stopped. To get them again, tell your officer. Goodbye.',
    language: 'Từ nay tin nhắn sẽ bằng tiếng Việt. Xin chào.',
    help: 'These are frost warnings for your coffee farm. To stop or change language, tell your commune officer. Goodbye.',
    surveyThanks: 'Thank you. Recorded.',
    survey:
      'This is frostwatch. After last night’s cold, how is your coffee farm? Press 1 for no damage. Press 2 for burnt leaves. Press 3 if young trees were lost. Press 4 for severe damage.',
    goodbye: 'Goodbye.',
  },
};

/** Survey keys → damage. */
export const SURVEY_KEYS: Record<string, 'none' | 'leaf_burn' | 'young_trees_lost' | 'severe'> = {
  '1': 'none',
  '2': 'leaf_burn',
  '3': 'young_trees_lost',
  '4': 'severe',
};

import { SegmentedMessage } from 'sms-segments-calculator';
import type { Language } from '../contracts/index.js';

/** Shared pieces of the warning texts: numbers, clock times, the GSM-7 fallback and the segment count. */

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface ComposedSms {
  /** NFC text, exactly what is sent. */
  text: string;
  encoding: SmsEncoding;
  segments: number;
  /** An estimate: segments × the configured price per segment (see DEFAULT_SMS_COST_USD_PER_SEGMENT). */
  costUsd: number;
}

/** °C with one decimal in the reader's convention: Vietnamese writes a decimal comma. Never prints "-0". */
export function formatTemp(valueC: number, language: Language): string {
  const rounded = Math.round(valueC * 10) / 10;
  const text = (rounded === 0 ? 0 : rounded).toFixed(1);
  // English messages carry no ° so they stay GSM-7 (160 characters a segment instead of 70).
  return language === 'vi' ? `${text.replace('.', ',')}°C` : `${text}C`;
}

/** A rate such as "0,8°C/giờ" / "0.8C/h", always positive: the verb says which way. */
export function formatRate(cPerH: number, language: Language): string {
  const temp = formatTemp(Math.abs(cPerH), language);
  return language === 'vi' ? `${temp}/giờ` : `${temp}/h`;
}

/** 24-hour "HH:MM" on the farm's clock, whatever the server's time zone. */
export function formatClock(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
}

/** Hour and minute on the farm's clock, for spoken times. */
export function clockParts(ms: number, timeZone: string): { hour: number; minute: number } {
  const [hour = 0, minute = 0] = formatClock(ms, timeZone).split(':').map(Number);
  return { hour, minute };
}

/** "HH:MM dd/MM": for notices that may refer to another day (a station silent since yesterday). */
export function formatClockDate(ms: number, timeZone: string): string {
  const date = new Intl.DateTimeFormat('en-GB', { timeZone, day: '2-digit', month: '2-digit' }).format(ms);
  return `${formatClock(ms, timeZone)} ${date}`;
}

const TYPOGRAPHY: Record<string, string> = { '–': '-', '—': '-', '−': '-', '…': '...', '“': '"', '”': '"', '‘': "'", '’': "'", '•': '*' };

/**
 * Vietnamese without diacritics, as people type it on basic phones: marks removed (NFD, then every combining
 * mark — the horn of ơ/ư and the breve of ă included), đ→d, Đ→D. The caller replaces the degree sign first.
 */
export function stripDiacritics(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .replace(/[–—−…“”‘’•]/g, (ch) => TYPOGRAPHY[ch] ?? ch)
    .normalize('NFC');
}

/** The GSM-7 form of a composed text: "°C" becomes " do C" (vi) / "C" (en), and anything still outside GSM-7 a "?". */
export function toGsm7(text: string, language: Language): string {
  const degree = language === 'vi' ? ' do C' : 'C';
  const plain = stripDiacritics(text.replace(/\s?°C/g, degree).replace(/°/g, language === 'vi' ? ' do' : ''));
  // Printable ASCII but the backtick is all GSM-7 (basic or extension table): skip the slow grapheme scan.
  if (/^[\x20-\x5F\x61-\x7E\r\n]*$/.test(plain)) return plain;
  const foreign = new Set(new SegmentedMessage(plain).getNonGsmCharacters());
  // Per code point, not per grapheme: stripDiacritics has already removed every combining mark.
  return foreign.size === 0 ? plain : Array.from(plain, (ch) => (foreign.has(ch) ? '?' : ch)).join('');
}

/** Encoding and segment count as Twilio computes them (its own calculator), without Smart Encoding. */
export function measure(text: string, costUsdPerSegment: number): ComposedSms {
  const nfc = text.normalize('NFC');
  const message = new SegmentedMessage(nfc);
  const segments = message.segmentsCount;
  return { text: nfc, encoding: message.encodingName, segments, costUsd: Math.round(segments * costUsdPerSegment * 10_000) / 10_000 };
}

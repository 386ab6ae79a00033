import type { Language } from '../contracts/index.js';

/**
 * The words of the farmer SMS, per language. Vietnamese follows the extension advice farmers in Lâm Đồng
 * already hear (che phủ cây non, tưới nước, đốt khói); every phrase is short because a Vietnamese SMS with
 * diacritics is UCS-2, 67 characters a segment.
 */
export type FarmerLevel = 'watch' | 'warning' | 'severe' | 'all_clear';

/** What the composer knows, already formatted for the reader (temperatures, clock times). */
export interface FarmerFacts {
  level: FarmerLevel;
  station: string;
  /** null when the station's name already says it, or to save room. */
  commune: string | null;
  readingClock: string | null;
  temp: string | null;
  /** The farm's offset was applied: the temperatures are an estimate for the farm, not the station's reading. */
  farmEstimate: boolean;
  trend: { direction: 'falling' | 'rising'; rate: string } | null;
  min: string | null;
  minClock: string | null;
  /** "before HH:MM"; null when it cannot be estimated or it is already time. */
  actBy: string | null;
}

interface Phrases {
  headline: Record<FarmerLevel, string>;
  place(f: FarmerFacts): string;
  forecast(f: FarmerFacts): string | null;
  action(f: FarmerFacts): string;
}

const vi: Phrases = {
  headline: {
    watch: 'Chú ý sương muối đêm nay.',
    warning: 'CẢNH BÁO sương muối đêm nay.',
    severe: 'KHẨN CẤP: sương muối nguy hiểm.',
    all_clear: 'Đã hết nguy cơ sương muối.',
  },
  place(f) {
    const where = `trạm ${f.station}${f.commune ? ` (${f.commune})` : ''}`;
    const lead = f.readingClock ? `Lúc ${f.readingClock} ${where}` : capitalise(where);
    if (f.temp === null) return `${lead}.`;
    const temp = f.farmEstimate ? `vườn bạn khoảng ${f.temp}` : f.temp;
    const trend = f.trend ? `, đang ${f.trend.direction === 'falling' ? 'giảm' : 'tăng'} ${f.trend.rate}` : '';
    return `${lead}: ${temp}${trend}.`;
  },
  forecast(f) {
    if (f.min === null) return null;
    return `Dự báo thấp nhất ${f.min}${f.minClock ? ` lúc ${f.minClock}` : ' trước sáng'}.`;
  },
  action(f) {
    switch (f.level) {
      case 'watch':
        return 'Chuẩn bị sẵn vật che phủ, nước tưới và vật liệu đốt khói.';
      case 'warning':
        return `Che phủ cây non, tưới nước ${f.actBy ? `trước ${f.actBy}` : 'ngay tối nay'}; chuẩn bị đốt khói.`;
      case 'severe':
        return `Làm ngay: che phủ cây non, tưới nước, đốt khói${f.actBy ? ` trước ${f.actBy}` : ''}.`;
      case 'all_clear':
        return 'Có thể dỡ vật che phủ khi nắng lên.';
    }
  },
};

const en: Phrases = {
  headline: {
    watch: 'Frost watch tonight.',
    warning: 'FROST WARNING tonight.',
    severe: 'SEVERE FROST.',
    all_clear: 'Frost all clear.',
  },
  place(f) {
    const where = `station ${f.station}${f.commune ? ` (${f.commune})` : ''}`;
    const lead = f.readingClock ? `At ${f.readingClock} ${where}` : capitalise(where);
    if (f.temp === null) return `${lead}.`;
    const temp = f.farmEstimate ? `your farm about ${f.temp}` : f.temp;
    const trend = f.trend ? `, ${f.trend.direction} ${f.trend.rate}` : '';
    return `${lead}: ${temp}${trend}.`;
  },
  forecast(f) {
    if (f.min === null) return null;
    return `Forecast low ${f.min}${f.minClock ? ` at ${f.minClock}` : ' before dawn'}.`;
  },
  action(f) {
    switch (f.level) {
      case 'watch':
        return 'Get covers, water and smoke material ready.';
      case 'warning':
        return `Cover young trees and water ${f.actBy ? `before ${f.actBy}` : 'this evening'}; get smoke fires ready.`;
      case 'severe':
        return `Act now: cover young trees, water, light smoke fires${f.actBy ? ` before ${f.actBy}` : ''}.`;
      case 'all_clear':
        return 'Covers can come off once the sun is up.';
    }
  },
};

export const FARMER_PHRASES: Record<Language, Phrases> = { vi, en };

export function farmerText(language: Language, facts: FarmerFacts): string {
  const p = FARMER_PHRASES[language];
  return [p.headline[facts.level], p.place(facts), p.forecast(facts), p.action(facts)].filter((part) => part !== null).join(' ');
}

function capitalise(text: string): string {
  return text.charAt(0).toLocaleUpperCase() + text.slice(1);
}

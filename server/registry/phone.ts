import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export { maskPhone } from '../../contracts/index.js';

/** Where a number rings: SMS reaches mobiles only, a landline can still take the voice call. */
export type PhoneKind = 'mobile' | 'fixed' | 'other';

export type NormalisedPhone = { ok: true; e164: string; kind: PhoneKind; country: string | null } | { ok: false; error: string };

/** Vietnam is where the farms are: a number without a country code is Vietnamese. */
const DEFAULT_COUNTRY = 'VN';

/**
 * Any valid number, in E.164. Local Vietnamese forms (`0912 345 678`, `84912345678`, `0084…`) are read as VN;
 * a foreign number must carry its `+` country code. Landlines are accepted (a voice call reaches them) and
 * reported as `fixed`, so a caller can say that SMS will not arrive. The `max` metadata is what tells
 * a valid number from a well-formed one (the default `min` set accepts many unassigned ranges).
 */
export function normalisePhone(input: string): NormalisedPhone {
  const text = input.normalize('NFKC').trim();
  if (text === '') return { ok: false, error: 'phone is empty' };
  if (/[^0-9+().\-\s/]/.test(text))
    return { ok: false, error: `phone "${text}" contains characters other than digits, spaces, + ( ) . - /` };
  const parsed = parsePhoneNumberFromString(text, DEFAULT_COUNTRY);
  if (!parsed || !parsed.isValid()) {
    return {
      ok: false,
      error: `phone "${text}" is not a valid number (Vietnamese mobile: 10 digits starting with 0, e.g. 0912 345 678, or +84…)`,
    };
  }
  return { ok: true, e164: parsed.number, kind: kindOf(parsed.getType()), country: parsed.country ?? null };
}

function kindOf(type: string | undefined): PhoneKind {
  if (type === 'MOBILE' || type === 'FIXED_LINE_OR_MOBILE') return 'mobile';
  if (type === 'FIXED_LINE') return 'fixed';
  return 'other';
}

import type { Contact, ContactInput, ContactRole, Language } from '../../contracts/index.js';
import { normalisePhone } from './phone.js';

/** Row shapes of migration 2 ("people") and their mapping; kept apart so people.ts reads as the registry's logic. */
export interface FarmerRow {
  id: number;
  name: string;
  phone: string;
  language: Language;
  diacritics: 0 | 1;
  commune: string | null;
  district_id: string;
  created_at: number;
  opted_out_at: number | null;
  opted_out_via: OptOutVia | null;
}

/** How a farmer said stop: an SMS reply, a keypress in a call, or an officer on their behalf. */
export type OptOutVia = 'sms' | 'keypress' | 'officer';

export interface SubscriptionRow {
  farmer_id: number;
  station_id: string;
  offset_c: number;
}

export interface ContactRow {
  farmer_id: number;
  position: number;
  role: ContactRole;
  name: string;
  phone: string;
}

export interface OfficerRow {
  id: number;
  name: string;
  phone: string;
  language: Language;
  district_id: string;
  created_at: number;
}

export interface CommuneStationRow {
  commune: string;
  station_id: string;
  offset_c: number;
}

/** A farmer as the registry keeps it; phones in E.164, times epoch ms. */
export interface FarmerRecord {
  id: number;
  name: string;
  phone: string;
  language: Language;
  diacritics: boolean;
  commune: string | null;
  districtId: string;
  subscriptions: { stationId: string; offsetC: number }[];
  contacts: Contact[];
  createdAt: number;
  /** Since then nothing but confirmations; null: warned. */
  optedOutAt: number | null;
  optedOutVia: OptOutVia | null;
}

export interface OfficerRecord {
  id: number;
  name: string;
  phone: string;
  language: Language;
  districtId: string;
  createdAt: number;
}

export function toFarmer(row: FarmerRow, subscriptions: SubscriptionRow[], contacts: ContactRow[]): FarmerRecord {
  return {
    id: row.id,
    name: row.name,
    phone: row.phone,
    language: row.language,
    diacritics: row.diacritics === 1,
    commune: row.commune,
    districtId: row.district_id,
    subscriptions: subscriptions.map((s) => ({ stationId: s.station_id, offsetC: s.offset_c })),
    contacts: contacts.map(toContact),
    createdAt: row.created_at,
    optedOutAt: row.opted_out_at,
    optedOutVia: row.opted_out_via,
  };
}

export function toContact(row: ContactRow): Contact {
  return { position: row.position, role: row.role, name: row.name, phone: row.phone };
}

export function toOfficer(row: OfficerRow): OfficerRecord {
  return { id: row.id, name: row.name, phone: row.phone, language: row.language, districtId: row.district_id, createdAt: row.created_at };
}

/**
 * The spelling a commune is stored under: NFC (spreadsheets and phones often send NFD), single spaces.
 * Matching also ignores case, so "đạ sar" typed by one officer finds "Đạ Sar" set by another.
 */
export function canonicalCommune(commune: string): string {
  return commune.normalize('NFC').trim().replace(/\s+/g, ' ');
}

export function communeKey(commune: string): string {
  return canonicalCommune(commune).toLocaleLowerCase('vi');
}

/** Contacts with E.164 phones, positions 1…n in the order given; the first bad phone is the error. */
export function normaliseContacts(contacts: readonly ContactInput[]): { ok: true; value: Contact[] } | { ok: false; error: string } {
  const out: Contact[] = [];
  for (const [index, contact] of contacts.entries()) {
    const phone = normalisePhone(contact.phone);
    if (!phone.ok) return { ok: false, error: `contacts.${index}.phone: ${phone.error}` };
    out.push({ position: index + 1, role: contact.role, name: contact.name.normalize('NFC'), phone: phone.e164 });
  }
  return { ok: true, value: out };
}

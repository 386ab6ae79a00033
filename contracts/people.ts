import { z } from 'zod';
import { DistrictIdSchema } from './districts.js';
import { StationIdSchema } from './ids.js';

/**
 * The people frostwatch warns (docs/operations.md, "SMS and voice"): farmers, their escalation chain, officers.
 * Phones arrive in any Vietnamese form (`0912 345 678`, `+84 912 345 678`, `84912345678`) and are stored
 * in E.164; the registry normalises them (libphonenumber-js), so the schemas here only bound the text.
 */
export const LanguageSchema = z.enum(['vi', 'en']).describe('language of SMS and calls; Vietnamese by default');
export type Language = z.infer<typeof LanguageSchema>;

export const PhoneInputSchema = z
  .string()
  .trim()
  .min(3)
  .max(32)
  .describe('E.164 (+84912345678) or a Vietnamese local form such as "0912 345 678"');

const NameSchema = z.string().trim().min(1).max(100);
const CommuneSchema = z.string().trim().min(1).max(100).describe('commune (xã), e.g. "Đạ Sar"');
/** Farm minus station, °C: a farm in a frost hollow is colder (negative). Bounded: beyond ±10 °C it is not the same place. */
export const OffsetCSchema = z.number().min(-10).max(10);

export const ContactRoleSchema = z.enum(['household', 'village_head', 'officer']);
export type ContactRole = z.infer<typeof ContactRoleSchema>;

export const ContactInputSchema = z.object({ role: ContactRoleSchema, name: NameSchema, phone: PhoneInputSchema });
export type ContactInput = z.infer<typeof ContactInputSchema>;

export const SubscriptionSchema = z.object({
  stationId: StationIdSchema,
  offsetC: OffsetCSchema.default(0).describe('the farm is this much warmer (+) or colder (−) than the station'),
});
export type Subscription = z.infer<typeof SubscriptionSchema>;

export const FarmerCreateSchema = z.object({
  name: NameSchema,
  phone: PhoneInputSchema,
  language: LanguageSchema.default('vi'),
  diacritics: z.boolean().default(true).describe('false: SMS without diacritics (GSM-7, cheaper, for phones that garble Unicode)'),
  commune: CommuneSchema.optional().describe("warned through the commune's representative station when no station is listed"),
  stationIds: z.array(StationIdSchema).max(20).default([]).describe('stations the farm depends on, offset 0'),
  subscriptions: z.array(SubscriptionSchema).max(20).optional().describe('stations with an offset; wins over stationIds'),
  contacts: z.array(ContactInputSchema).max(10).default([]).describe('escalation chain in order: household, village head, officer'),
  districtId: DistrictIdSchema.optional().describe(
    "the farmer's district; default: their stations' district, else the caller's own, else lac-duong. Their stations must be in it",
  ),
});
export type FarmerCreate = z.infer<typeof FarmerCreateSchema>;

export const ContactSchema = z.object({ position: z.number().int(), role: ContactRoleSchema, name: z.string(), phone: z.string() });
export type Contact = z.infer<typeof ContactSchema>;

export const FarmerSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  phone: z.string().describe('E.164; masked for the viewer role'),
  language: LanguageSchema,
  diacritics: z.boolean(),
  commune: z.string().nullable(),
  districtId: z.string(),
  subscriptions: z.array(z.object({ stationId: z.string(), offsetC: z.number() })),
  contacts: z.array(ContactSchema),
  createdAt: z.string().describe('ISO 8601'),
  optedOutAt: z.string().nullable().describe('ISO 8601: since then the farmer receives nothing but confirmations'),
  optedOutVia: z.enum(['sms', 'keypress', 'officer']).nullable(),
});
export type Farmer = z.infer<typeof FarmerSchema>;

/** GET /api/opt-outs: one farmer's stop or resume, from the audit log (server/warnings/farmer-choices.ts). */
export const OptOutEventSchema = z.object({
  at: z.string().describe('ISO 8601'),
  farmerId: z.number().int(),
  farmerName: z.string().nullable().describe('null when the farmer was removed since'),
  optedOut: z.boolean().describe('true: stopped; false: resumed'),
  via: z.enum(['sms', 'keypress', 'officer']),
  actor: z.string().describe('the officer who acted, or "twilio sms" / "twilio keypress"'),
});
export type OptOutEvent = z.infer<typeof OptOutEventSchema>;

export const FarmerIdParamsSchema = z.object({ id: z.coerce.number().int().positive() });

export const FarmerImportBodySchema = z
  .union([z.string(), z.object({ csv: z.string() })])
  .describe('text/csv body, or JSON {"csv": "..."}; header name,phone,language,commune,station_ids,diacritics');

export const ImportRowResultSchema = z.object({
  row: z.number().int().describe('line in the file, the header being 1 — the row number the spreadsheet shows'),
  ok: z.boolean(),
  action: z.enum(['created', 'updated']).optional(),
  id: z.number().int().optional(),
  error: z.string().optional(),
});
export type ImportRowResult = z.infer<typeof ImportRowResultSchema>;

export const FarmerImportReportSchema = z.object({
  created: z.number().int(),
  updated: z.number().int(),
  failed: z.number().int(),
  rows: z.array(ImportRowResultSchema),
});
export type FarmerImportReport = z.infer<typeof FarmerImportReportSchema>;

export const CommuneStationSetSchema = z.object({ stationId: StationIdSchema, offsetC: OffsetCSchema.default(0) });
export const CommuneStationSchema = z.object({ commune: z.string(), stationId: z.string(), offsetC: z.number() });
export type CommuneStation = z.infer<typeof CommuneStationSchema>;
export const CommuneParamsSchema = z.object({ commune: CommuneSchema });

export const OfficerCreateSchema = z.object({
  name: NameSchema,
  phone: PhoneInputSchema,
  language: LanguageSchema.default('vi'),
  districtId: DistrictIdSchema.optional().describe(
    "the district whose notices the officer gets; default: the caller's own, else lac-duong",
  ),
});
export type OfficerCreate = z.infer<typeof OfficerCreateSchema>;
export const OfficerSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  phone: z.string(),
  language: LanguageSchema,
  districtId: z.string(),
  createdAt: z.string(),
});
export type Officer = z.infer<typeof OfficerSchema>;

/**
 * Phones are personal data: every log line carries this form, never the number.
 * Keeps the country code and first two digits (the network) and the last four (enough to tell people apart).
 * `+84912345678` → `+8491•••5678`.
 */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/[^0-9]/g, '');
  if (digits.length < 8) return '•••';
  return `${phone.trimStart().startsWith('+') ? '+' : ''}${digits.slice(0, 4)}•••${digits.slice(-4)}`;
}

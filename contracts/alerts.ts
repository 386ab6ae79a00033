import { z } from 'zod';

/**
 * The frost warning ladder (docs/frost-model.md): none → watch → warning → severe, and back to
 * none through an explicit all-clear. Officer alerts are separate kinds with raised/cleared states.
 */
export const FrostLevelSchema = z.enum(['none', 'watch', 'warning', 'severe']);
export type FrostLevel = z.infer<typeof FrostLevelSchema>;

/** The order of the ladder: a higher rank is a worse night. */
export const FROST_RANK: Record<FrostLevel, number> = { none: 0, watch: 1, warning: 2, severe: 3 };

export const AlertKindSchema = z.enum(['frost', 'station_offline', 'sensor_fault', 'low_battery']);
export type AlertKind = z.infer<typeof AlertKindSchema>;

export const AlertStatusSchema = z.enum(['active', 'acknowledged', 'cleared']);
export type AlertStatus = z.infer<typeof AlertStatusSchema>;

/** What the rule engine knew when it decided; kept with every decision in the alert history. */
export const DecisionInputsSchema = z.object({
  readingTs: z.number().describe('epoch ms of the reading the decision rests on'),
  airTempC: z.number().nullable().describe('5-minute median of air temperature'),
  rhPct: z.number().nullable(),
  windMs: z.number().nullable(),
  dewPointC: z.number().nullable(),
  frostPointC: z.number().nullable(),
  wetBulbC: z.number().nullable(),
  leafEstC: z.number().nullable().describe('leaf sensor, or air minus the station leaf offset'),
  trendCPerH: z.number().nullable().describe('cooling rate; negative when falling'),
  nowcastMinC: z.number().nullable().describe('√t fit over the last 60–120 min, extrapolated to sunrise, floored at Td − 3'),
  forecastMinC: z.number().nullable().describe('FFST minimum Tp = a·T₂ + b·Td₂ + c'),
  forecastMinAtMs: z.number().nullable().describe('when the minimum is expected (sunrise)'),
  sunsetMs: z.number().nullable(),
  sunriseMs: z.number().nullable(),
  radiative: z.boolean().nullable().describe('clear and calm: wind < 2 m/s and cooling'),
  batteryV: z.number().nullable(),
});
export type DecisionInputs = z.infer<typeof DecisionInputsSchema>;

/** A frost ladder move for one station. `to: 'all_clear'` ends the night's alert. */
export interface FrostDecision {
  kind: 'frost';
  stationId: string;
  from: FrostLevel;
  to: Exclude<FrostLevel, 'none'> | 'all_clear';
  /** Time line of the reading that caused it (station time). */
  atMs: number;
  /** Human-readable why, in English, for the history (e.g. "forecast minimum −1.2 °C ≤ 0 °C"). */
  reason: string;
  /** False when the decision rests on a late (backfilled) reading: recorded, but no farmer is told. */
  notify: boolean;
  inputs: DecisionInputs;
}

/** An officer alert raised or cleared (offline, sensor fault, low battery). */
export interface OfficerDecision {
  kind: 'station_offline' | 'sensor_fault' | 'low_battery';
  stationId: string;
  state: 'raised' | 'cleared';
  atMs: number;
  reason: string;
  notify: boolean;
  inputs: DecisionInputs;
}

export type Decision = FrostDecision | OfficerDecision;

// ---- HTTP ----

export const AlertEventSchema = z.object({
  id: z.number(),
  at: z.string().describe('ISO 8601'),
  transition: z.string().describe('e.g. "none→watch", "severe→all_clear", "raised", "acknowledged"'),
  level: z.string(),
  reason: z.string(),
  inputs: DecisionInputsSchema.nullable(),
});

export const AlertSchema = z.object({
  id: z.number(),
  stationId: z.string(),
  kind: AlertKindSchema,
  level: z.string().describe('frost: watch | warning | severe; officer alerts: raised'),
  status: AlertStatusSchema,
  openedAt: z.string(),
  updatedAt: z.string(),
  acknowledgedAt: z.string().nullable(),
  acknowledgedBy: z.string().nullable(),
  clearedAt: z.string().nullable(),
  events: z.array(AlertEventSchema).optional(),
});
export type Alert = z.infer<typeof AlertSchema>;

export const AlertsQuerySchema = z.object({
  status: AlertStatusSchema.optional(),
  stationId: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(200),
});

/** One message or call of the outbox, as officers see it: who was sent what, when, and what became of it. */
export const DeliverySchema = z.object({
  id: z.number(),
  eventId: z.number().nullable(),
  recipientKind: z.enum(['farmer', 'contact', 'officer']),
  recipientId: z.number(),
  recipientName: z.string().nullable(),
  phone: z.string().describe('masked, e.g. +8491•••5678'),
  channel: z.enum(['sms', 'voice']),
  status: z.string(),
  body: z.string(),
  segments: z.number(),
  costUsd: z.number(),
  attempts: z.number(),
  escalationStep: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
  acknowledgedAt: z.string().nullable(),
  lastError: z.string().nullable(),
});
export type Delivery = z.infer<typeof DeliverySchema>;

/** A recipient of an alert that nothing has reached yet: no delivered SMS and no acknowledged call. */
export const UnreachedSchema = z.object({
  eventId: z.number(),
  alertId: z.number().nullable(),
  stationId: z.string().nullable(),
  recipientKind: z.enum(['farmer', 'contact', 'officer']),
  recipientId: z.number(),
  recipientName: z.string().nullable(),
  phone: z.string().describe('masked'),
  statuses: z.array(z.string()).describe('e.g. ["sms:undelivered", "voice:sent"]'),
  lastUpdatedAt: z.string(),
});
export type Unreached = z.infer<typeof UnreachedSchema>;

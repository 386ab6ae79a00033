import { z } from 'zod';

/**
 * The audit log of people's actions (issue 6): who did what to which thing, when, from where, and whether it
 * took effect. Details never hold a secret (token, password) or a whole phone number.
 */
export const AuditActorKindSchema = z.enum(['user', 'token', 'twilio', 'anonymous']);
export type AuditActorKind = z.infer<typeof AuditActorKindSchema>;

export const AuditOutcomeSchema = z
  .enum(['ok', 'failed'])
  .describe('ok: it took effect (2xx); failed: refused (only sign-ins are recorded when refused)');
export type AuditOutcome = z.infer<typeof AuditOutcomeSchema>;

export const AuditEntrySchema = z.object({
  id: z.number().int(),
  at: z.string().describe('ISO 8601'),
  actorKind: AuditActorKindSchema,
  actor: z.string().describe('username, `admin-token`, or `twilio keypress`'),
  action: z.string().describe('e.g. station.create, farmer.import, alert.ack'),
  target: z.string().nullable().describe('the id of what was acted on'),
  outcome: AuditOutcomeSchema,
  statusCode: z.number().int(),
  remoteAddr: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable().describe('a few masked facts, e.g. {"phone": "+8491•••5678"}'),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const AuditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.coerce.number().int().positive().optional().describe('page on: the `nextBefore` of the previous page'),
  action: z.string().max(64).optional().describe('only this action, or actions under this prefix (`farmer.`)'),
  actor: z.string().max(64).optional(),
});
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

export const AuditPageSchema = z.object({
  entries: z.array(AuditEntrySchema).describe('newest first'),
  nextBefore: z.number().int().nullable().describe('pass as `before` for the next (older) page; null at the end'),
});
export type AuditPage = z.infer<typeof AuditPageSchema>;

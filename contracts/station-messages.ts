import { z } from 'zod';

/** `stations/{id}/status`, retained; the will message publishes `{"online": false}`. */
export const StationStatusSchema = z.object({
  online: z.boolean(),
  fw: z.string().max(64).optional(),
  uptimeS: z.number().int().min(0).optional(),
});
export type StationStatus = z.infer<typeof StationStatusSchema>;

/** `stations/{id}/config`, retained, server → station. */
export const StationConfigSchema = z.object({
  /** Sampling and publishing interval. 60 s normally; the system may ask for faster on risky nights. */
  intervalS: z.number().int().min(10).max(3_600),
});
export type StationConfig = z.infer<typeof StationConfigSchema>;

export type StatusResult = { ok: true; status: StationStatus } | { ok: false };

export function parseStatusPayload(payload: Uint8Array, maxBytes = 4_096): StatusResult {
  if (payload.byteLength > maxBytes) return { ok: false };
  try {
    const parsed = StationStatusSchema.safeParse(JSON.parse(Buffer.from(payload).toString('utf8')));
    return parsed.success ? { ok: true, status: parsed.data } : { ok: false };
  } catch {
    return { ok: false };
  }
}

export function parseConfigPayload(payload: Uint8Array): StationConfig | null {
  try {
    const parsed = StationConfigSchema.safeParse(JSON.parse(Buffer.from(payload).toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

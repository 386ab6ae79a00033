import { z } from 'zod';

/**
 * A station id is also its MQTT username and one level of its topics, so it may not contain
 * `/`, `+`, `#` or spaces. Lower-case letters, digits and dashes keep it readable on an SMS.
 */
export const StationIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'station id: 1–63 lower-case letters, digits or dashes, not starting with a dash')
  .brand<'StationId'>();
export type StationId = z.infer<typeof StationIdSchema>;

export function isStationId(value: string): value is StationId {
  return StationIdSchema.safeParse(value).success;
}

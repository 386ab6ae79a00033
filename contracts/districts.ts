import { z } from 'zod';

/**
 * Districts (huyện) of a province (issue 18, part 4). Stations, farmers and officers belong to one district; a
 * dashboard user is bound to one district or province-wide (docs/security.md, "Roles and districts").
 */

/** The district every installation starts with; what existed before districts were added belongs to it. */
export const DEFAULT_DISTRICT_ID = 'lac-duong';
export const DEFAULT_DISTRICT_NAME = 'Lạc Dương';

export const DistrictIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'district id: 1–63 lower-case letters, digits or dashes, not starting with a dash')
  .describe('e.g. "lac-duong"');

export const DistrictCreateSchema = z.object({
  id: DistrictIdSchema,
  name: z.string().trim().min(1).max(100).describe('as messages and reports name it, e.g. "Đức Trọng"'),
});
export type DistrictCreate = z.infer<typeof DistrictCreateSchema>;

export const DistrictSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string().describe('ISO 8601'),
});
export type District = z.infer<typeof DistrictSchema>;

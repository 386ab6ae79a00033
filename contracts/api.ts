import { z } from 'zod';
import { DevicePresetSchema, FieldMapSchema, StationDeviceSchema, StationSourceSchema, deviceIdProblem, isLorawan } from './devices.js';
import { DistrictIdSchema } from './districts.js';
import { StationIdSchema } from './ids.js';
import { RejectReasonSchema } from './reject-reasons.js';

/** HTTP API bodies and answers (README and /docs). These schemas also generate the OpenAPI at /docs. */
export const CropSchema = z.enum(['arabica', 'robusta', 'young']).describe('arabica (default), robusta, or young trees');
export type Crop = z.infer<typeof CropSchema>;

export const StationCreateSchema = z
  .object({
    id: StationIdSchema.describe('also the MQTT username, e.g. "ld-dasar-01"'),
    name: z.string().trim().min(1).max(100),
    commune: z.string().trim().min(1).max(100),
    lat: z.number().min(-90).max(90),
    lon: z.number().min(-180).max(180),
    elevationM: z.number().min(-500).max(9_000),
    crop: CropSchema.default('arabica'),
    districtId: DistrictIdSchema.optional().describe("the station's district; default: the caller's own, else lac-duong"),
    ...StationDeviceSchema.shape,
  })
  .superRefine((station, ctx) => {
    const problem = deviceIdProblem(station.source, station.deviceId);
    if (problem !== null) ctx.addIssue({ code: 'custom', path: ['deviceId'], message: problem });
    if (station.preset !== undefined && !isLorawan(station.source ?? 'native'))
      ctx.addIssue({ code: 'custom', path: ['preset'], message: 'preset: only for chirpstack or ttn' });
  });
export type StationCreate = z.infer<typeof StationCreateSchema>;

export const StationSchema = z.object({
  id: z.string(),
  name: z.string(),
  commune: z.string(),
  lat: z.number(),
  lon: z.number(),
  elevationM: z.number(),
  crop: CropSchema,
  districtId: z.string(),
  source: StationSourceSchema,
  deviceId: z.string().nullable(),
  preset: DevicePresetSchema.nullable(),
  fieldMap: FieldMapSchema.nullable(),
  createdAt: z.string().describe('ISO 8601'),
  lastSeenAt: z.string().nullable().describe('last reading or status received, ISO 8601'),
  online: z.boolean().nullable().describe('from the retained status; null if never heard'),
  sampling: z
    .enum(['config_topic', 'downlink', 'not_applicable'])
    .describe(
      'how the adaptive sampling interval reaches the device: its retained config topic (native), a LoRaWAN downlink (presets that have one), or not at all',
    ),
  refused: z
    .array(z.object({ reason: RejectReasonSchema, count: z.number().int(), lastAt: z.string() }))
    .describe("what the station's device sent that was refused since the server started, by reason, most recent first"),
});
export type Station = z.infer<typeof StationSchema>;

export const StationCredentialsSchema = z.object({
  id: z.string(),
  token: z.string().describe('MQTT password; shown only this once'),
});
export type StationCredentials = z.infer<typeof StationCredentialsSchema>;

/** Most stations one import may register: twice the planned fleet of a district (10,000). */
export const STATION_IMPORT_MAX = 20_000;

export const StationImportSchema = z.object({
  stations: z
    .array(StationCreateSchema)
    .min(1)
    .max(STATION_IMPORT_MAX)
    .describe(`stations to register, each as POST /api/stations takes it; all or none (at most ${STATION_IMPORT_MAX})`),
});
export type StationImport = z.infer<typeof StationImportSchema>;

export const StationImportResultSchema = z.object({
  created: z.number().int(),
  tokens: z.array(StationCredentialsSchema).describe('one MQTT password per station, in the order sent; shown only this once'),
});
export type StationImportResult = z.infer<typeof StationImportResultSchema>;

export const StationImportErrorSchema = z.object({
  error: z.string(),
  message: z.string(),
  lines: z
    .array(
      z.object({
        index: z.number().int().describe('position in `stations`, from 0'),
        id: z.string().optional(),
        reason: z.string(),
      }),
    )
    .describe('every station that stopped the import; nothing was registered'),
});
export type StationImportError = z.infer<typeof StationImportErrorSchema>;

/** InfluxQL GROUP BY time() interval: a positive integer and one unit. */
export const EverySchema = z.string().regex(/^[1-9][0-9]{0,5}(s|m|h|d)$/, 'every: e.g. 30s, 5m, 1h, 1d');

export const ReadingsQuerySchema = z.object({
  from: z.iso.datetime({ offset: true }).optional().describe('default: 24 h before `to`'),
  to: z.iso.datetime({ offset: true }).optional().describe('default: now'),
  every: EverySchema.optional().describe('aggregate into windows (mean; min and max of air temperature)'),
});
export type ReadingsQuery = z.infer<typeof ReadingsQuerySchema>;

export const ReadingOutSchema = z.object({
  ts: z.string().describe('ISO 8601; the start of the window when aggregated'),
  airTempC: z.number().nullable(),
  airTempMinC: z.number().nullable().optional(),
  airTempMaxC: z.number().nullable().optional(),
  rhPct: z.number().nullable().optional(),
  windMs: z.number().nullable().optional(),
  leafTempC: z.number().nullable().optional(),
  batteryV: z.number().nullable().optional(),
  rssiDbm: z.number().nullable().optional(),
  seq: z.number().nullable().optional(),
});
export type ReadingOut = z.infer<typeof ReadingOutSchema>;

export const ReadingsResponseSchema = z.object({
  stationId: z.string(),
  from: z.string(),
  to: z.string(),
  every: z.string().nullable(),
  readings: z.array(ReadingOutSchema),
});
export type ReadingsResponse = z.infer<typeof ReadingsResponseSchema>;

export const ErrorResponseSchema = z.object({ error: z.string(), message: z.string() });

export const HealthSchema = z.object({
  status: z.enum(['ok', 'degraded', 'down']),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })),
});
export type Health = z.infer<typeof HealthSchema>;

/** `GET /ready`: whether readings can be accepted now (broker, spool, SQLite); `failing` names what is not. */
export const ReadySchema = z.object({
  ready: z.boolean(),
  failing: z.array(z.string()),
  checks: HealthSchema.shape.checks,
});
export type Ready = z.infer<typeof ReadySchema>;

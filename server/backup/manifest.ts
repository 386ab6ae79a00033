import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * `manifest.json` of a backup directory: what was copied, from where, by which versions, and enough to check the copy
 * before a restore touches anything (sizes and SHA-256 of every file, the registry's row counts). A backup writes it
 * last, so a directory without one is an interrupted backup, never a complete one.
 */
export const MANIFEST_FILE = 'manifest.json';
export const BACKUP_FORMAT = 'frostwatch-backup';
/** Raised when a restore could not read what an older frostwatch wrote; a newer format is refused by name. */
export const FORMAT_VERSION = 1;
/** The InfluxDB part of a backup, relative to the backup directory. */
export const INFLUX_DIR = 'influxdb';

const FileEntrySchema = z.object({
  /** Relative to the backup directory (or to its influxdb/ folder for InfluxDB's files). */
  name: z.string().min(1),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type FileEntry = z.infer<typeof FileEntrySchema>;

const ContinuousQuerySchema = z.object({ name: z.string(), query: z.string() });
export type ContinuousQuery = z.infer<typeof ContinuousQuerySchema>;

const ManagedInfluxSchema = z.object({
  mode: z.literal('managed'),
  database: z.string().min(1),
  version: z.string(),
  retentionPolicies: z.array(z.string()),
  /** InfluxDB 1.x's portable restore leaves continuous queries out (influxdata/influxdb#21494): kept here to recreate. */
  continuousQueries: z.array(ContinuousQuerySchema),
  /**
   * Points of `readings` per retention policy, counted just before the copy: a floor for the restored count (the copy
   * is taken after the count, so it holds at least these). Null when counting did not finish in time.
   */
  readingsAtLeast: z.record(z.string(), z.number().int().min(0)).nullable(),
  files: z.array(FileEntrySchema),
});

const ExternalInfluxSchema = z.object({
  mode: z.literal('external'),
  url: z.string(),
  database: z.string(),
  /** The server's X-Influxdb-Version, or null when it did not answer. */
  version: z.string().nullable(),
  /** What the operator was told to run (the backup does not hold the readings). */
  commands: z.array(z.string()),
});

export const ManifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  formatVersion: z.literal(FORMAT_VERSION),
  createdAt: z.iso.datetime(),
  durationMs: z.number().min(0),
  versions: z.object({ frostwatch: z.string(), node: z.string(), sqlite: z.string() }),
  source: z.object({ host: z.string(), dataDir: z.string() }),
  registry: z.object({
    file: FileEntrySchema,
    /** The highest migration applied: a frostwatch that knows fewer migrations cannot run this registry. */
    schemaVersion: z.number().int().min(0),
    /** Rows per table, counted in the copy itself (so exactly what a restore brings back). */
    counts: z.record(z.string(), z.number().int().min(0)),
  }),
  /** token-hmac-key, admin-token, admin-password, tts-state.json: whichever DATA_DIR had (files.ts). */
  dataFiles: z.array(FileEntrySchema),
  influx: z.discriminatedUnion('mode', [ManagedInfluxSchema, ExternalInfluxSchema]),
});
export type Manifest = z.infer<typeof ManifestSchema>;
export type ManagedInfluxPart = z.infer<typeof ManagedInfluxSchema>;

export class BackupError extends Error {
  override readonly name = 'BackupError';
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
}

/** The manifest of `dir`, checked; every way it can be wrong is one sentence saying what to do. */
export async function readManifest(dir: string): Promise<Manifest> {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new BackupError(
        `${dir} has no ${MANIFEST_FILE}: it is not a frostwatch backup, or the backup was interrupted (the manifest is written last)`,
      );
    throw new BackupError(`cannot read ${file}: ${code ?? String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BackupError(`${file} is not valid JSON: the backup is damaged`);
  }
  // Format and version first: a newer format deserves "upgrade frostwatch", not a list of unknown fields.
  const head = z.object({ format: z.string(), formatVersion: z.number() }).safeParse(json);
  if (!head.success || head.data.format !== BACKUP_FORMAT) throw new BackupError(`${file} is not a frostwatch backup manifest`);
  if (head.data.formatVersion > FORMAT_VERSION)
    throw new BackupError(
      `${dir} was written in backup format ${head.data.formatVersion} by a newer frostwatch; this one reads format ${FORMAT_VERSION}: restore it with that version or newer`,
    );
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.')}: ${i.message}`)
      .join('; ');
    throw new BackupError(`${file} is damaged (${problems})`);
  }
  return parsed.data;
}

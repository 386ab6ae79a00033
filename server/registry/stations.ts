import Database, { type Statement } from 'better-sqlite3';
import type { Clock, Crop, DevicePreset, FieldMap, StationCreate, StationId, StationSource } from '../../contracts/index.js';
import { REVOKED_TOKEN_HASH, generateToken, hashToken } from '../auth/station-tokens.js';
import type { Db } from './db.js';

/** A station as the registry keeps it. Times are epoch ms; the token hash never leaves this module except via `tokenHash(es)`. */
export interface StationRecord extends Omit<StationCreate, 'source' | 'deviceId' | 'preset' | 'fieldMap'> {
  source: StationSource;
  /** DevEUI (LoRaWAN) or device topic (Wi-Fi boards); null for native stations. */
  deviceId: string | null;
  preset: DevicePreset | null;
  fieldMap: FieldMap | null;
  createdAt: number;
  tokenRotatedAt: number | null;
}

/** What happened to a station's token: first issued (registration), replaced (rotation) or withdrawn. */
export type CredentialChange = 'issued' | 'rotated' | 'revoked';

/** `device_taken`: another station already has this source's device id. */
export type CreateStationResult = { ok: true; station: StationRecord; token: string } | { ok: false; reason: 'exists' | 'device_taken' };

interface StationRow {
  id: string;
  name: string;
  commune: string;
  lat: number;
  lon: number;
  elevation_m: number;
  crop: Crop;
  source: StationSource;
  device_id: string | null;
  device_preset: DevicePreset | null;
  field_map: string | null;
  created_at: number;
  token_rotated_at: number | null;
}

const COLUMNS = 'id, name, commune, lat, lon, elevation_m, crop, source, device_id, device_preset, field_map, created_at, token_rotated_at';

export class StationRepository {
  readonly #clock: Clock;
  readonly #credentialListeners = new Set<(stationId: StationId, change: CredentialChange) => void>();
  readonly #insert: Statement<[StationRow & { token_hash: string }]>;
  readonly #list: Statement<[], StationRow>;
  readonly #get: Statement<[string], StationRow>;
  readonly #byDevice: Statement<[StationSource, string], StationRow>;
  readonly #exists: Statement<[string], { one: number }>;
  readonly #hash: Statement<[string], { token_hash: string }>;
  readonly #rotate: Statement<[string, number, string]>;
  readonly #allHashes: Statement<[], { id: string; token_hash: string }>;

  constructor(db: Db, clock: Clock) {
    this.#clock = clock;
    this.#insert = db.prepare(
      `INSERT INTO stations (${COLUMNS}, token_hash)
       VALUES (@id, @name, @commune, @lat, @lon, @elevation_m, @crop, @source, @device_id, @device_preset, @field_map, @created_at,
               @token_rotated_at, @token_hash)`,
    );
    this.#list = db.prepare(`SELECT ${COLUMNS} FROM stations ORDER BY id`);
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM stations WHERE id = ?`);
    this.#byDevice = db.prepare(`SELECT ${COLUMNS} FROM stations WHERE source = ? AND device_id = ?`);
    this.#exists = db.prepare('SELECT 1 AS one FROM stations WHERE id = ?');
    this.#hash = db.prepare('SELECT token_hash FROM stations WHERE id = ?');
    this.#rotate = db.prepare('UPDATE stations SET token_hash = ?, token_rotated_at = ? WHERE id = ?');
    this.#allHashes = db.prepare('SELECT id, token_hash FROM stations');
  }

  /** Register a station and issue its token; the caller shows the token once, only its hash is kept. */
  async create(input: StationCreate): Promise<CreateStationResult> {
    // Checked first so a duplicate costs no scrypt; the primary key still settles a race.
    if (this.#exists.get(input.id)) return { ok: false, reason: 'exists' };
    const source = input.source ?? 'native';
    const deviceId = input.deviceId ?? null;
    if (deviceId !== null && this.#byDevice.get(source, deviceId)) return { ok: false, reason: 'device_taken' };
    const token = generateToken();
    const tokenHash = await hashToken(token);
    const row: StationRow = {
      id: input.id,
      name: input.name,
      commune: input.commune,
      lat: input.lat,
      lon: input.lon,
      elevation_m: input.elevationM,
      crop: input.crop,
      source,
      device_id: deviceId,
      device_preset: input.preset ?? null,
      field_map: input.fieldMap === undefined ? null : JSON.stringify(input.fieldMap),
      created_at: Math.round(this.#clock.now()),
      token_rotated_at: null,
    };
    try {
      this.#insert.run({ ...row, token_hash: tokenHash });
    } catch (error) {
      if (error instanceof Database.SqliteError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return { ok: false, reason: 'exists' };
      if (error instanceof Database.SqliteError && error.code === 'SQLITE_CONSTRAINT_UNIQUE') return { ok: false, reason: 'device_taken' };
      throw error;
    }
    this.#credentialsChanged(input.id, 'issued');
    return { ok: true, station: toRecord(row), token };
  }

  list(): StationRecord[] {
    return this.#list.all().map(toRecord);
  }

  get(id: string): StationRecord | null {
    const row = this.#get.get(id);
    return row ? toRecord(row) : null;
  }

  /** The station a device is registered to: `deviceId` is the DevEUI (lower-case) or the device topic. */
  byDevice(source: StationSource, deviceId: string): StationRecord | null {
    const row = this.#byDevice.get(source, deviceId);
    return row ? toRecord(row) : null;
  }

  /** Issue a new token; the old one stops working at once. `null` when the station is unknown. */
  async rotateToken(id: string): Promise<string | null> {
    if (!this.#exists.get(id)) return null;
    const token = generateToken();
    const tokenHash = await hashToken(token);
    const { changes } = this.#rotate.run(tokenHash, Math.round(this.#clock.now()), id);
    if (changes !== 1) return null;
    this.#credentialsChanged(id as StationId, 'rotated');
    return token;
  }

  /** Withdraw the station's token: refused from its next CONNECT until a new token is issued. False when unknown. */
  revokeToken(id: string): boolean {
    const { changes } = this.#rotate.run(REVOKED_TOKEN_HASH, Math.round(this.#clock.now()), id);
    if (changes !== 1) return false;
    this.#credentialsChanged(id as StationId, 'revoked');
    return true;
  }

  /** Called after each token issued, rotated or revoked through this repository (this process); returns the unsubscribe. */
  onCredentialsChanged(listener: (stationId: StationId, change: CredentialChange) => void): () => void {
    this.#credentialListeners.add(listener);
    return () => this.#credentialListeners.delete(listener);
  }

  /** Every station's stored hash, to notice changes made by another process (CredentialWatch). */
  tokenHashes(): Map<string, string> {
    return new Map(this.#allHashes.all().map((row) => [row.id, row.token_hash]));
  }

  /** The stored `scrypt$…` hash, read fresh every time so a rotation is seen immediately. */
  tokenHash(id: string): string | null {
    return this.#hash.get(id)?.token_hash ?? null;
  }

  #credentialsChanged(stationId: StationId, change: CredentialChange): void {
    for (const listener of this.#credentialListeners) listener(stationId, change);
  }
}

function toRecord(row: StationRow): StationRecord {
  return {
    // Only ids that passed StationIdSchema are ever inserted.
    id: row.id as StationId,
    name: row.name,
    commune: row.commune,
    lat: row.lat,
    lon: row.lon,
    elevationM: row.elevation_m,
    crop: row.crop,
    source: row.source,
    deviceId: row.device_id,
    preset: row.device_preset,
    // Written only from FieldMapSchema-checked input.
    fieldMap: row.field_map === null ? null : (JSON.parse(row.field_map) as FieldMap),
    createdAt: row.created_at,
    tokenRotatedAt: row.token_rotated_at,
  };
}

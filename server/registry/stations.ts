import { type Statement, uniqueViolation } from './sql.js';
import {
  type Clock,
  type Crop,
  DEFAULT_DISTRICT_ID,
  type DevicePreset,
  type FieldMap,
  type StationCreate,
  type StationId,
  type StationSource,
} from '../../contracts/index.js';
import { REVOKED_TOKEN_HASH, generateToken } from '../auth/station-tokens.js';
import { type TokenKey, tokenKeyOf } from '../auth/token-key.js';
import type { Db } from './db.js';
import { DistrictRepository } from './districts.js';

/** A station as the registry keeps it. Times are epoch ms; the token hash never leaves this module except via `tokenHash(es)`. */
export interface StationRecord extends Omit<StationCreate, 'source' | 'deviceId' | 'preset' | 'fieldMap' | 'districtId'> {
  districtId: string;
  source: StationSource;
  /** DevEUI (LoRaWAN) or device topic (Wi-Fi boards); null for native stations. */
  deviceId: string | null;
  preset: DevicePreset | null;
  fieldMap: FieldMap | null;
  createdAt: number;
  tokenRotatedAt: number | null;
}

/**
 * What happened to a station's token: first issued (registration), replaced (rotation) or withdrawn; `upgraded`: the
 * same token's legacy scrypt hash replaced by its keyed hash at a good login — the station's connection stays.
 */
export type CredentialChange = 'issued' | 'rotated' | 'revoked' | 'upgraded';

/** `device_taken`: another station already has this source's device id. */
export type CreateStationResult =
  { ok: true; station: StationRecord; token: string } | { ok: false; reason: 'exists' | 'device_taken' | 'unknown_district' };

/** One line of an import: a station that passed its schema, or why the line could not become one. */
export type ImportCandidate = { ok: true; station: StationCreate } | { ok: false; id?: string; reason: string };

/** Why the candidate at `index` stops an import. */
export interface ImportProblem {
  index: number;
  id?: string;
  reason: string;
}

export interface CreateManyOptions {
  /** How a problem names another line ("same id as …"); default `index 3`. The CLI says `line 5`. */
  label?: (index: number) => string;
  /** Called every 1,000 stations inserted, and at the end. */
  onProgress?: (done: number, total: number) => void;
  /** Called inside the transaction with the tokens, before the commit: throwing registers nothing (the CLI writes its tokens file here). */
  beforeCommit?: (created: readonly IssuedStation[]) => void;
}

export interface IssuedStation {
  station: StationRecord;
  token: string;
}

/**
 * `invalid`: some line is wrong in itself or within the list (schema, the same id or device twice); `conflict`: every
 * problem is with what is registered already (id exists, device taken).
 */
export type CreateManyResult =
  { ok: true; created: IssuedStation[] } | { ok: false; kind: 'invalid' | 'conflict'; problems: ImportProblem[] };

const PROGRESS_EVERY = 1_000;

interface StationRow {
  id: string;
  name: string;
  commune: string;
  lat: number;
  lon: number;
  elevation_m: number;
  crop: Crop;
  district_id: string;
  source: StationSource;
  device_id: string | null;
  device_preset: DevicePreset | null;
  field_map: string | null;
  created_at: number;
  token_rotated_at: number | null;
}

const COLUMNS =
  'id, name, commune, lat, lon, elevation_m, crop, district_id, source, device_id, device_preset, field_map, created_at, token_rotated_at';

export class StationRepository {
  /** The key of the stored `hmac-sha256$…` hashes, from beside the registry file (token-key.ts). */
  readonly tokenKey: TokenKey;
  /** The province's districts, on the same registry (migration 12). */
  readonly districts: DistrictRepository;
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #credentialListeners = new Set<(stationId: StationId, change: CredentialChange) => void>();
  readonly #insert: Statement<[StationRow & { token_hash: string }]>;
  readonly #list: Statement<[], StationRow>;
  readonly #get: Statement<[string], StationRow>;
  readonly #byDevice: Statement<[StationSource, string], StationRow>;
  readonly #exists: Statement<[string], { one: number }>;
  readonly #hash: Statement<[string], { token_hash: string }>;
  readonly #rotate: Statement<[string, number, string]>;
  readonly #upgrade: Statement<[string, string, string]>;
  readonly #allHashes: Statement<[], { id: string; token_hash: string }>;

  constructor(db: Db, clock: Clock) {
    this.tokenKey = tokenKeyOf(db);
    this.districts = new DistrictRepository(db, clock);
    this.#db = db;
    this.#clock = clock;
    this.#insert = db.prepare(
      `INSERT INTO stations (${COLUMNS}, token_hash)
       VALUES (@id, @name, @commune, @lat, @lon, @elevation_m, @crop, @district_id, @source, @device_id, @device_preset, @field_map, @created_at,
               @token_rotated_at, @token_hash)`,
    );
    this.#list = db.prepare(`SELECT ${COLUMNS} FROM stations ORDER BY id`);
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM stations WHERE id = ?`);
    this.#byDevice = db.prepare(`SELECT ${COLUMNS} FROM stations WHERE source = ? AND device_id = ?`);
    this.#exists = db.prepare('SELECT 1 AS one FROM stations WHERE id = ?');
    this.#hash = db.prepare('SELECT token_hash FROM stations WHERE id = ?');
    this.#rotate = db.prepare('UPDATE stations SET token_hash = ?, token_rotated_at = ? WHERE id = ?');
    // Compare-and-set: only while the hash is still the one the token was verified against.
    this.#upgrade = db.prepare('UPDATE stations SET token_hash = ? WHERE id = ? AND token_hash = ?');
    this.#allHashes = db.prepare('SELECT id, token_hash FROM stations');
  }

  /**
   * Register a station and issue its token; the caller shows the token once, only its keyed hash is kept.
   * Synchronous inside (the hash takes microseconds); a promise still, as for the callers written when it was scrypt.
   */
  create(input: StationCreate): Promise<CreateStationResult> {
    return Promise.resolve(this.#create(input));
  }

  #create(input: StationCreate): CreateStationResult {
    if (this.#exists.get(input.id)) return { ok: false, reason: 'exists' };
    if (!this.districts.exists(input.districtId ?? DEFAULT_DISTRICT_ID)) return { ok: false, reason: 'unknown_district' };
    const row = toRow(input, Math.round(this.#clock.now()));
    if (row.device_id !== null && this.#byDevice.get(row.source, row.device_id)) return { ok: false, reason: 'device_taken' };
    const token = generateToken();
    try {
      this.#insert.run({ ...row, token_hash: this.tokenKey.hash(token) });
    } catch (error) {
      // Another process may have registered the same id or device since the checks above.
      const violated = uniqueViolation(error);
      if (violated === 'primary_key') return { ok: false, reason: 'exists' };
      if (violated === 'unique') return { ok: false, reason: 'device_taken' };
      throw error;
    }
    this.#credentialsChanged(input.id, 'issued');
    return { ok: true, station: toRecord(row), token };
  }

  /**
   * Register every candidate or none (a district's fleet from a spreadsheet or the import API): if any line is invalid,
   * repeats an id or a device of the list, or collides with a registered station, nothing is written and every such
   * line is reported, by index. Otherwise all are inserted in one SQLite transaction, taken for writing from the
   * start (BEGIN IMMEDIATE), so no other process can register a clashing station between the checks and the inserts.
   * The credential listeners hear `issued` for each station after the commit, as with `create`.
   */
  createMany(candidates: readonly ImportCandidate[], options: CreateManyOptions = {}): CreateManyResult {
    const transaction = this.#db.transaction((): CreateManyResult => {
      const found = this.#importProblems(candidates, options.label ?? ((index) => `index ${index}`));
      if (found.problems.length > 0) return { ok: false, ...found };
      const createdAt = Math.round(this.#clock.now());
      const created: IssuedStation[] = [];
      for (const candidate of candidates) {
        if (!candidate.ok) continue; // none left: every invalid line is a problem above
        const row = toRow(candidate.station, createdAt);
        const token = generateToken();
        this.#insert.run({ ...row, token_hash: this.tokenKey.hash(token) });
        created.push({ station: toRecord(row), token });
        if (created.length % PROGRESS_EVERY === 0) options.onProgress?.(created.length, candidates.length);
      }
      if (created.length % PROGRESS_EVERY !== 0) options.onProgress?.(created.length, candidates.length);
      options.beforeCommit?.(created);
      return { ok: true, created };
    });
    const result = transaction.immediate();
    if (result.ok) for (const { station } of result.created) this.#credentialsChanged(station.id, 'issued');
    return result;
  }

  /** Every line that stops an import, in line order; `kind` says whether any is the list's own fault. */
  #importProblems(
    candidates: readonly ImportCandidate[],
    label: (index: number) => string,
  ): { kind: 'invalid' | 'conflict'; problems: ImportProblem[] } {
    const problems: ImportProblem[] = [];
    let invalid = false;
    const ids = new Map<string, number>();
    const devices = new Map<string, number>();
    for (const [index, candidate] of candidates.entries()) {
      if (!candidate.ok) {
        invalid = true;
        problems.push({ index, ...(candidate.id === undefined ? {} : { id: candidate.id }), reason: candidate.reason });
        // A later valid line with the same id is still the same id twice.
        if (candidate.id !== undefined && !ids.has(candidate.id)) ids.set(candidate.id, index);
        continue;
      }
      const { id } = candidate.station;
      const source = candidate.station.source ?? 'native';
      const deviceId = candidate.station.deviceId ?? null;
      const deviceKey = deviceId === null ? null : `${source}\u0000${deviceId}`;
      const sameId = ids.get(id);
      const sameDevice = deviceKey === null ? undefined : devices.get(deviceKey);
      const owner = deviceId === null ? undefined : this.#byDevice.get(source, deviceId);
      const districtId = candidate.station.districtId ?? DEFAULT_DISTRICT_ID;
      let reason: string | null = null;
      if (!this.districts.exists(districtId)) {
        invalid = true;
        reason = `unknown district ${districtId}`;
      } else if (sameId !== undefined) reason = `same id as ${label(sameId)}`;
      else if (this.#exists.get(id)) reason = `station ${id} already exists`;
      else if (sameDevice !== undefined) reason = `same device (${source} ${deviceId ?? ''}) as ${label(sameDevice)}`;
      else if (owner) reason = `device ${deviceId ?? ''} (${source}) is already registered to station ${owner.id}`;
      if (sameId === undefined) ids.set(id, index);
      if (deviceKey !== null && sameDevice === undefined) devices.set(deviceKey, index);
      if (reason === null) continue;
      if (sameId !== undefined || sameDevice !== undefined) invalid = true;
      problems.push({ index, id, reason });
    }
    return { kind: invalid ? 'invalid' : 'conflict', problems };
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

  /** Issue a new token; the old one stops working at once. `null` when the station is unknown. A promise, as `create`. */
  rotateToken(id: string): Promise<string | null> {
    const token = generateToken();
    const { changes } = this.#rotate.run(this.tokenKey.hash(token), Math.round(this.#clock.now()), id);
    if (changes !== 1) return Promise.resolve(null);
    this.#credentialsChanged(id as StationId, 'rotated');
    return Promise.resolve(token);
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

  /** The stored hash (`hmac-sha256$…`, a legacy `scrypt$…`, or `revoked`), read fresh every time so a rotation is seen immediately. */
  tokenHash(id: string): string | null {
    return this.#hash.get(id)?.token_hash ?? null;
  }

  /**
   * After `token` was verified against the legacy scrypt hash `verifiedHash`: store the token's keyed hash instead,
   * only if `verifiedHash` is still what is stored (a rotation or revocation made meanwhile wins). The new stored
   * hash, or null when it had changed. The station's connection is not dropped (`upgraded` is no credential change).
   */
  upgradeTokenHash(id: string, verifiedHash: string, token: Buffer): string | null {
    const next = this.tokenKey.hash(token);
    if (this.#upgrade.run(next, id, verifiedHash).changes !== 1) return null;
    this.#credentialsChanged(id as StationId, 'upgraded');
    return next;
  }

  #credentialsChanged(stationId: StationId, change: CredentialChange): void {
    for (const listener of this.#credentialListeners) listener(stationId, change);
  }
}

function toRow(input: StationCreate, createdAt: number): StationRow {
  return {
    id: input.id,
    name: input.name,
    commune: input.commune,
    lat: input.lat,
    lon: input.lon,
    elevation_m: input.elevationM,
    crop: input.crop,
    district_id: input.districtId ?? DEFAULT_DISTRICT_ID,
    source: input.source ?? 'native',
    device_id: input.deviceId ?? null,
    device_preset: input.preset ?? null,
    field_map: input.fieldMap === undefined ? null : JSON.stringify(input.fieldMap),
    created_at: createdAt,
    token_rotated_at: null,
  };
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
    districtId: row.district_id,
    source: row.source,
    deviceId: row.device_id,
    preset: row.device_preset,
    // Written only from FieldMapSchema-checked input.
    fieldMap: row.field_map === null ? null : (JSON.parse(row.field_map) as FieldMap),
    createdAt: row.created_at,
    tokenRotatedAt: row.token_rotated_at,
  };
}

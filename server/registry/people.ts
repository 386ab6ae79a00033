import { uniqueViolation } from './sql.js';
import {
  DEFAULT_DISTRICT_ID,
  type Clock,
  type CommuneStation,
  type Contact,
  type FarmerCreate,
  type FarmerImportReport,
  type ImportRowResult,
  type Language,
  type OfficerCreate,
} from '../../contracts/index.js';
import type { Db } from './db.js';
import { parseFarmerCsv } from './farmer-csv.js';
import {
  canonicalCommune,
  communeKey,
  normaliseContacts,
  toContact,
  toFarmer,
  toOfficer,
  type CommuneStationRow,
  type ContactRow,
  type FarmerRecord,
  type FarmerRow,
  type OfficerRecord,
  type OfficerRow,
  type OptOutVia,
  type SubscriptionRow,
} from './people-rows.js';
import { normalisePhone } from './phone.js';

export type { FarmerRecord, OfficerRecord, OptOutVia } from './people-rows.js';

/** Someone to warn when a station's night turns: the offset is added to the station's temperatures for their farm. */
export interface Recipient {
  farmerId: number;
  name: string;
  phone: string;
  language: Language;
  diacritics: boolean;
  commune: string | null;
  offsetC: number;
  via: 'direct' | 'commune';
}

export type PeopleError = { ok: false; reason: 'invalid' | 'phone_exists' | 'unknown_station'; message: string };
export type CreateFarmerResult = { ok: true; farmer: FarmerRecord } | PeopleError;
export type CreateOfficerResult = { ok: true; officer: OfficerRecord } | PeopleError;
export type SetCommuneStationResult = { ok: true; communeStation: CommuneStation } | PeopleError;
export type ImportFarmersResult = { ok: true; report: FarmerImportReport } | { ok: false; message: string };

type NewFarmerRow = Omit<FarmerRow, 'id' | 'opted_out_at' | 'opted_out_via'>;
type Validated = { row: NewFarmerRow; subscriptions: { stationId: string; offsetC: number }[]; contacts: Contact[] };

/**
 * Farmers, their escalation chains, the communes' representative stations, and officers (migration 2).
 * Phones are validated and stored in E.164; nothing here logs (callers log with `maskPhone`).
 */
export class PeopleRepository {
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #stmt;

  constructor(db: Db, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
    this.#stmt = prepare(db);
  }

  /** A new farmer; a phone already registered is refused (`phone_exists`): two people do not share a number silently. */
  createFarmer(input: FarmerCreate): CreateFarmerResult {
    const valid = this.#validate(input);
    if (!valid.ok) return valid;
    if (this.#stmt.farmerByPhone.get(valid.value.row.phone)) {
      return { ok: false, reason: 'phone_exists', message: `a farmer with phone ${valid.value.row.phone} is already registered` };
    }
    try {
      const id = this.#db.transaction(() => this.#insert(valid.value))();
      return { ok: true, farmer: this.#farmerOrThrow(id) };
    } catch (error) {
      if (uniqueViolation(error) === 'unique') {
        return { ok: false, reason: 'phone_exists', message: `a farmer with phone ${valid.value.row.phone} is already registered` };
      }
      throw error;
    }
  }

  /**
   * Import a farmer list. Partial by design: every good row is saved (all of them in one transaction), every bad
   * row is reported with its line and reason, so an officer fixes those lines and imports the file again.
   * A phone already registered updates that farmer (the spreadsheet is the officer's list; re-importing it must
   * not fail): name, language, diacritics and commune are replaced, stations become the row's list — an offset
   * set earlier is kept for a station still listed — and the escalation chain, which a CSV cannot carry, is kept.
   */
  importFarmersCsv(text: string, districtId?: string): ImportFarmersResult {
    const parsed = parseFarmerCsv(text);
    if (!parsed.ok) return { ok: false, message: parsed.error };
    const results: ImportRowResult[] = parsed.errors.map(({ row, error }) => ({ row, ok: false, error }));
    const save = this.#db.transaction(() => {
      for (const { row, farmer } of parsed.rows) results.push({ row, ...this.#upsert(farmer, districtId) });
    });
    save();
    results.sort((a, b) => a.row - b.row);
    const count = (predicate: (r: ImportRowResult) => boolean) => results.filter(predicate).length;
    return {
      ok: true,
      report: {
        created: count((r) => r.action === 'created'),
        updated: count((r) => r.action === 'updated'),
        failed: count((r) => !r.ok),
        rows: results,
      },
    };
  }

  getFarmer(id: number): FarmerRecord | null {
    const row = this.#stmt.farmer.get(id);
    return row ? toFarmer(row, this.#stmt.subscriptionsOf.all(id), this.#stmt.contactsOf.all(id)) : null;
  }

  listFarmers(): FarmerRecord[] {
    const subscriptions = groupBy(this.#stmt.allSubscriptions.all());
    const contacts = groupBy(this.#stmt.allContacts.all());
    return this.#stmt.farmers.all().map((row) => toFarmer(row, subscriptions.get(row.id) ?? [], contacts.get(row.id) ?? []));
  }

  /** The farmer with this E.164 phone, for replies and keypresses. */
  farmerByPhone(phone: string): FarmerRecord | null {
    const row = this.#stmt.farmerIdByPhone.get(phone);
    return row ? this.getFarmer(row.id) : null;
  }

  /**
   * Stop (`optedOut`) or resume warnings. Returns the farmer as they now are, and whether anything changed: stopping
   * twice keeps the first time (the audit log has each request). Null for an unknown farmer.
   */
  setOptOut(farmerId: number, optedOut: boolean, via: OptOutVia): { farmer: FarmerRecord; changed: boolean } | null {
    const before = this.getFarmer(farmerId);
    if (!before) return null;
    const changed = (before.optedOutAt !== null) !== optedOut;
    if (changed)
      this.#stmt.setOptOut.run({ id: farmerId, at: optedOut ? Math.round(this.#clock.now()) : null, via: optedOut ? via : null });
    return { farmer: this.#farmerOrThrow(farmerId), changed };
  }

  /** The language of a farmer's messages, chosen by the farmer (EN / VI). Null for an unknown farmer. */
  setLanguage(farmerId: number, language: Language): FarmerRecord | null {
    if (this.#stmt.setLanguage.run(language, farmerId).changes !== 1) return null;
    return this.#farmerOrThrow(farmerId);
  }

  /** Removes the farmer with their subscriptions and contacts (ON DELETE CASCADE). */
  deleteFarmer(id: number): boolean {
    return this.#stmt.deleteFarmer.run(id).changes === 1;
  }

  /** Replace a farmer's escalation chain; `null` when the farmer is unknown. */
  setContacts(farmerId: number, contacts: FarmerCreate['contacts']): { ok: true; contacts: Contact[] } | PeopleError | null {
    if (!this.#stmt.farmer.get(farmerId)) return null;
    const valid = normaliseContacts(contacts);
    if (!valid.ok) return { ok: false, reason: 'invalid', message: valid.error };
    this.#db.transaction(() => this.#writeContacts(farmerId, valid.value))();
    return { ok: true, contacts: this.escalationChain(farmerId) };
  }

  /** The escalation chain in the order it is tried. */
  escalationChain(farmerId: number): Contact[] {
    return this.#stmt.contactsOf.all(farmerId).map(toContact);
  }

  /** The representative station of a commune, for its farmers without a station of their own. */
  setCommuneStation(commune: string, stationId: string, offsetC: number): SetCommuneStationResult {
    if (!this.#stmt.stationExists.get(stationId)) return unknownStation(stationId);
    const canonical = canonicalCommune(commune);
    this.#db.transaction(() => {
      // One row per commune whatever the case it was typed in: the newest spelling wins.
      for (const row of this.#stmt.communeStations.all())
        if (communeKey(row.commune) === communeKey(canonical)) this.#stmt.deleteCommune.run(row.commune);
      this.#stmt.insertCommune.run({ commune: canonical, station_id: stationId, offset_c: offsetC });
    })();
    return { ok: true, communeStation: { commune: canonical, stationId, offsetC } };
  }

  communeStations(): CommuneStation[] {
    return this.#stmt.communeStations.all().map((r) => ({ commune: r.commune, stationId: r.station_id, offsetC: r.offset_c }));
  }

  /**
   * Every farmer who depends on the station: subscribed to it directly (with that subscription's offset), or —
   * having no direct subscription at all — living in a commune it represents (with the commune's offset).
   */
  recipientsFor(stationId: string): Recipient[] {
    const direct = this.#stmt.directRecipients.all(stationId).map((row) => toRecipient(row, row.offset_c, 'direct'));
    const communes = new Map(this.#stmt.communesOfStation.all(stationId).map((row) => [communeKey(row.commune), row.offset_c]));
    if (communes.size === 0) return direct;
    const byCommune = this.#stmt.unsubscribedWithCommune.all().flatMap((row) => {
      const offsetC = row.commune === null ? undefined : communes.get(communeKey(row.commune));
      return offsetC === undefined ? [] : [toRecipient(row, offsetC, 'commune')];
    });
    return [...direct, ...byCommune].sort((a, b) => a.farmerId - b.farmerId);
  }

  createOfficer(input: OfficerCreate): CreateOfficerResult {
    const phone = normalisePhone(input.phone);
    if (!phone.ok) return { ok: false, reason: 'invalid', message: `phone: ${phone.error}` };
    const districtId = input.districtId ?? DEFAULT_DISTRICT_ID;
    if (!this.#stmt.districtExists.get(districtId)) return unknownDistrict(districtId);
    const row = {
      name: input.name.normalize('NFC'),
      phone: phone.e164,
      language: input.language,
      district_id: districtId,
      created_at: Math.round(this.#clock.now()),
    };
    try {
      const id = Number(this.#stmt.insertOfficer.run(row).lastInsertRowid);
      return { ok: true, officer: toOfficer({ id, ...row }) };
    } catch (error) {
      if (uniqueViolation(error) === 'unique') {
        return { ok: false, reason: 'phone_exists', message: `an officer with phone ${phone.e164} is already registered` };
      }
      throw error;
    }
  }

  officers(): OfficerRecord[] {
    return this.#stmt.officers.all().map(toOfficer);
  }

  /** The officers of one district: its stations' notices and pre-alert summaries go to them. */
  officersOf(districtId: string): OfficerRecord[] {
    return this.#stmt.officersOf.all(districtId).map(toOfficer);
  }

  /**
   * How officer notices name a district: its name where the province has several districts, undefined where it has one
   * (nothing to tell apart) or for an unknown id.
   */
  districtLabel(districtId: string): string | undefined {
    if ((this.#stmt.districtCount.get()?.n ?? 0) < 2) return undefined;
    return this.#stmt.districtName.get(districtId)?.name;
  }

  /** The district of a station, or null when the station is unknown. */
  stationDistrict(stationId: string): string | null {
    return this.#stmt.stationDistrict.get(stationId)?.district_id ?? null;
  }

  #validate(input: FarmerCreate): { ok: true; value: Validated } | PeopleError {
    const phone = normalisePhone(input.phone);
    if (!phone.ok) return { ok: false, reason: 'invalid', message: `phone: ${phone.error}` };
    const contacts = normaliseContacts(input.contacts);
    if (!contacts.ok) return { ok: false, reason: 'invalid', message: contacts.error };
    const subscriptions = mergeSubscriptions(input);
    if (subscriptions.length === 0 && input.commune === undefined) {
      return { ok: false, reason: 'invalid', message: 'a farmer needs stationIds or a commune, or no warning would ever reach them' };
    }
    // A farmer belongs to one district and depends on its stations; unnamed, it is the district of their stations.
    const first = subscriptions[0];
    const districtId =
      input.districtId ??
      (first === undefined ? undefined : this.#stmt.stationDistrict.get(first.stationId)?.district_id) ??
      DEFAULT_DISTRICT_ID;
    if (!this.#stmt.districtExists.get(districtId)) return unknownDistrict(districtId);
    // Another district's station is answered as an unknown one, so a district officer learns nothing of it.
    const unknown = subscriptions.find((s) => this.#stmt.stationDistrict.get(s.stationId)?.district_id !== districtId);
    if (unknown) return unknownStation(unknown.stationId);
    const row = {
      name: input.name.normalize('NFC'),
      phone: phone.e164,
      language: input.language,
      diacritics: input.diacritics ? 1 : 0,
      commune: input.commune === undefined ? null : canonicalCommune(input.commune),
      district_id: districtId,
      created_at: Math.round(this.#clock.now()),
    } as const;
    return { ok: true, value: { row, subscriptions, contacts: contacts.value } };
  }

  #insert({ row, subscriptions, contacts }: Validated): number {
    const id = Number(this.#stmt.insertFarmer.run(row).lastInsertRowid);
    for (const s of subscriptions) this.#stmt.insertSubscription.run({ farmer_id: id, station_id: s.stationId, offset_c: s.offsetC });
    this.#writeContacts(id, contacts);
    return id;
  }

  /** One CSV row inside the import transaction. */
  #upsert(farmer: FarmerCreate, districtId: string | undefined): Omit<ImportRowResult, 'row'> {
    const phone = normalisePhone(farmer.phone);
    const known = phone.ok ? this.#stmt.farmerByPhone.get(phone.e164) : undefined;
    // A district officer's list places its farmers in their district; a known farmer stays in theirs.
    if (known && districtId !== undefined && known.district_id !== districtId)
      return { ok: false, error: 'phone: registered to a farmer of another district' };
    const inDistrict = known?.district_id ?? districtId;
    const valid = this.#validate(inDistrict === undefined ? farmer : { ...farmer, districtId: inDistrict });
    if (!valid.ok) return { ok: false, error: valid.message };
    const existing = this.#stmt.farmerByPhone.get(valid.value.row.phone);
    if (!existing) return { ok: true, action: 'created', id: this.#insert(valid.value) };
    const { row, subscriptions } = valid.value;
    this.#stmt.updateFarmer.run({
      id: existing.id,
      name: row.name,
      language: row.language,
      diacritics: row.diacritics,
      commune: row.commune,
    });
    const keep = new Set(subscriptions.map((s) => s.stationId));
    for (const s of this.#stmt.subscriptionsOf.all(existing.id))
      if (!keep.has(s.station_id)) this.#stmt.deleteSubscription.run(existing.id, s.station_id);
    for (const s of subscriptions)
      this.#stmt.keepSubscription.run({ farmer_id: existing.id, station_id: s.stationId, offset_c: s.offsetC });
    return { ok: true, action: 'updated', id: existing.id };
  }

  #writeContacts(farmerId: number, contacts: Contact[]): void {
    this.#stmt.deleteContacts.run(farmerId);
    for (const c of contacts)
      this.#stmt.insertContact.run({ farmer_id: farmerId, position: c.position, role: c.role, name: c.name, phone: c.phone });
  }

  #farmerOrThrow(id: number): FarmerRecord {
    const farmer = this.getFarmer(id);
    if (!farmer) throw new Error(`farmer ${id} vanished right after it was written`);
    return farmer;
  }
}

function prepare(db: Db) {
  const farmerCols = 'id, name, phone, language, diacritics, commune, district_id, created_at, opted_out_at, opted_out_via';
  return {
    farmer: db.prepare<[number], FarmerRow>(`SELECT ${farmerCols} FROM farmers WHERE id = ?`),
    farmers: db.prepare<[], FarmerRow>(`SELECT ${farmerCols} FROM farmers ORDER BY id`),
    farmerByPhone: db.prepare<[string], { id: number; district_id: string }>('SELECT id, district_id FROM farmers WHERE phone = ?'),
    insertFarmer: db.prepare<[NewFarmerRow]>(
      `INSERT INTO farmers (name, phone, language, diacritics, commune, district_id, created_at)
       VALUES (@name, @phone, @language, @diacritics, @commune, @district_id, @created_at)`,
    ),
    updateFarmer: db.prepare<[Omit<NewFarmerRow, 'phone' | 'created_at' | 'district_id'> & { id: number }]>(
      'UPDATE farmers SET name = @name, language = @language, diacritics = @diacritics, commune = @commune WHERE id = @id',
    ),
    deleteFarmer: db.prepare<[number]>('DELETE FROM farmers WHERE id = ?'),
    subscriptionsOf: db.prepare<[number], SubscriptionRow>(
      'SELECT farmer_id, station_id, offset_c FROM subscriptions WHERE farmer_id = ? ORDER BY station_id',
    ),
    allSubscriptions: db.prepare<[], SubscriptionRow>(
      'SELECT farmer_id, station_id, offset_c FROM subscriptions ORDER BY farmer_id, station_id',
    ),
    insertSubscription: db.prepare<[SubscriptionRow]>(
      'INSERT INTO subscriptions (farmer_id, station_id, offset_c) VALUES (@farmer_id, @station_id, @offset_c)',
    ),
    keepSubscription: db.prepare<[SubscriptionRow]>(
      'INSERT INTO subscriptions (farmer_id, station_id, offset_c) VALUES (@farmer_id, @station_id, @offset_c) ON CONFLICT DO NOTHING',
    ),
    deleteSubscription: db.prepare<[number, string]>('DELETE FROM subscriptions WHERE farmer_id = ? AND station_id = ?'),
    contactsOf: db.prepare<[number], ContactRow>(
      'SELECT farmer_id, position, role, name, phone FROM contacts WHERE farmer_id = ? ORDER BY position',
    ),
    allContacts: db.prepare<[], ContactRow>('SELECT farmer_id, position, role, name, phone FROM contacts ORDER BY farmer_id, position'),
    deleteContacts: db.prepare<[number]>('DELETE FROM contacts WHERE farmer_id = ?'),
    insertContact: db.prepare<[ContactRow]>(
      'INSERT INTO contacts (farmer_id, position, role, name, phone) VALUES (@farmer_id, @position, @role, @name, @phone)',
    ),
    stationExists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM stations WHERE id = ?'),
    stationDistrict: db.prepare<[string], { district_id: string }>('SELECT district_id FROM stations WHERE id = ?'),
    districtExists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM districts WHERE id = ?'),
    districtName: db.prepare<[string], { name: string }>('SELECT name FROM districts WHERE id = ?'),
    districtCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM districts'),
    communeStations: db.prepare<[], CommuneStationRow>('SELECT commune, station_id, offset_c FROM commune_stations ORDER BY commune'),
    communesOfStation: db.prepare<[string], CommuneStationRow>(
      'SELECT commune, station_id, offset_c FROM commune_stations WHERE station_id = ?',
    ),
    deleteCommune: db.prepare<[string]>('DELETE FROM commune_stations WHERE commune = ?'),
    insertCommune: db.prepare<[CommuneStationRow]>(
      'INSERT INTO commune_stations (commune, station_id, offset_c) VALUES (@commune, @station_id, @offset_c)',
    ),
    directRecipients: db.prepare<[string], FarmerRow & { offset_c: number }>(
      `SELECT f.id, f.name, f.phone, f.language, f.diacritics, f.commune, f.district_id, f.created_at, f.opted_out_at, f.opted_out_via, s.offset_c
       FROM subscriptions s JOIN farmers f ON f.id = s.farmer_id WHERE s.station_id = ? AND f.opted_out_at IS NULL ORDER BY f.id`,
    ),
    unsubscribedWithCommune: db.prepare<[], FarmerRow>(
      `SELECT ${farmerCols} FROM farmers f
       WHERE f.commune IS NOT NULL AND f.opted_out_at IS NULL AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.farmer_id = f.id) ORDER BY f.id`,
    ),
    insertOfficer: db.prepare<[Omit<OfficerRow, 'id'>]>(
      'INSERT INTO officers (name, phone, language, district_id, created_at) VALUES (@name, @phone, @language, @district_id, @created_at)',
    ),
    farmerIdByPhone: db.prepare<[string], { id: number }>('SELECT id FROM farmers WHERE phone = ?'),
    setOptOut: db.prepare<[{ id: number; at: number | null; via: OptOutVia | null }]>(
      'UPDATE farmers SET opted_out_at = @at, opted_out_via = @via WHERE id = @id',
    ),
    setLanguage: db.prepare<[Language, number]>('UPDATE farmers SET language = ? WHERE id = ?'),
    officers: db.prepare<[], OfficerRow>('SELECT id, name, phone, language, district_id, created_at FROM officers ORDER BY id'),
    officersOf: db.prepare<[string], OfficerRow>(
      'SELECT id, name, phone, language, district_id, created_at FROM officers WHERE district_id = ? ORDER BY id',
    ),
  };
}

/** `subscriptions` (with offsets) win over the plain `stationIds` for the same station. */
function mergeSubscriptions(input: FarmerCreate): { stationId: string; offsetC: number }[] {
  const merged = new Map<string, number>(input.stationIds.map((id) => [id, 0]));
  for (const s of input.subscriptions ?? []) merged.set(s.stationId, s.offsetC);
  return [...merged].map(([stationId, offsetC]) => ({ stationId, offsetC }));
}

function unknownStation(stationId: string): PeopleError {
  return { ok: false, reason: 'unknown_station', message: `unknown station ${stationId}` };
}

function unknownDistrict(districtId: string): PeopleError {
  return { ok: false, reason: 'invalid', message: `districtId: unknown district ${districtId}` };
}

function toRecipient(row: FarmerRow, offsetC: number, via: Recipient['via']): Recipient {
  return {
    farmerId: row.id,
    name: row.name,
    phone: row.phone,
    language: row.language,
    diacritics: row.diacritics === 1,
    commune: row.commune,
    offsetC,
    via,
  };
}

function groupBy<R extends { farmer_id: number }>(rows: R[]): Map<number, R[]> {
  const map = new Map<number, R[]>();
  for (const row of rows) map.set(row.farmer_id, [...(map.get(row.farmer_id) ?? []), row]);
  return map;
}

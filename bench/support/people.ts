/** One farmer per station, written straight into DATA_DIR's registry (a second SQLite connection; WAL). */
import { type Clock, StationIdSchema } from '../../contracts/index.js';
import { dataPaths } from '../../server/paths.js';
import { openDatabase } from '../../server/registry/db.js';
import { PeopleRepository } from '../../server/registry/people.js';
import { silent } from './system.js';

/** Returns station id → the farmer's phone as stored (E.164). */
export function addFarmers(dataDir: string, stationIds: string[], clock: Clock): Map<string, string> {
  const db = openDatabase(dataPaths(dataDir).registry, silent);
  const phones = new Map<string, string>();
  try {
    const people = new PeopleRepository(db, clock);
    stationIds.forEach((id, i) => {
      const phone = `+8491${String(2_000_000 + i).padStart(7, '0')}`;
      const created = people.createFarmer({
        name: `Nông dân ${i}`,
        phone,
        language: 'vi',
        diacritics: true,
        stationIds: [StationIdSchema.parse(id)],
        contacts: [],
      });
      if (!created.ok) throw new Error(`farmer for ${id}: ${created.message}`);
      phones.set(id, created.farmer.phone);
    });
  } finally {
    db.close();
  }
  return phones;
}

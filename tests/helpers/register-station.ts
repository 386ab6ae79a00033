import type { StationCreate } from '../../contracts/index.js';
import type { StationRepository } from '../../server/registry/stations.js';

/** Register a station of Lát commune straight into the registry; returns its token (shown once). */
export async function registerStation(stations: StationRepository, id: string): Promise<string> {
  const input: StationCreate = {
    id: id as StationCreate['id'],
    name: `Trạm ${id}`,
    commune: 'Lát',
    lat: 12.02,
    lon: 108.42,
    elevationM: 1520,
    crop: 'arabica',
  };
  const created = await stations.create(input);
  if (!created.ok) throw new Error(`could not register ${id}`);
  return created.token;
}

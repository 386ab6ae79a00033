import type { FastifyRequest } from 'fastify';

/**
 * Districts as access (docs/security.md, "Roles and districts"): an officer or viewer bound to a district sees and acts in
 * it only; admins and province-wide users see everything. A resource of another district is answered as if it did not
 * exist (404, or left out of a list), so its id tells nothing; a write that names another district is refused (403).
 */

/** The caller's district, or null when they are province-wide. */
export function districtOf(request: FastifyRequest): string | null {
  const principal = request.principal;
  if (!principal || principal.role === 'admin') return null;
  return principal.districtId ?? null;
}

/** Whether the caller may see a resource of `districtId`. */
export function seesDistrict(request: FastifyRequest, districtId: string): boolean {
  const own = districtOf(request);
  return own === null || own === districtId;
}

/** The ids of the stations the caller sees, or null when they see every station. */
export function visibleStationIds(
  request: FastifyRequest,
  stations: { list(): readonly { id: string; districtId: string }[] },
): Set<string> | null {
  const own = districtOf(request);
  if (own === null) return null;
  return new Set(
    stations
      .list()
      .filter((s) => s.districtId === own)
      .map((s) => s.id),
  );
}

/** Keeps the rows of visible stations; `visible` null keeps everything. */
export function onVisibleStations<T>(rows: readonly T[], visible: Set<string> | null, stationOf: (row: T) => string | null): T[] {
  if (visible === null) return [...rows];
  return rows.filter((row) => {
    const id = stationOf(row);
    return id !== null && visible.has(id);
  });
}

/**
 * Schema changes in order. Append a new step to the end; never edit or reorder one that shipped,
 * because `version` is what a database remembers having applied.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'stations',
    sql: `
      CREATE TABLE stations (
        id               TEXT PRIMARY KEY,
        name             TEXT NOT NULL,
        commune          TEXT NOT NULL,
        lat              REAL NOT NULL,
        lon              REAL NOT NULL,
        elevation_m      REAL NOT NULL,
        crop             TEXT NOT NULL CHECK (crop IN ('arabica', 'robusta', 'young')),
        token_hash       TEXT NOT NULL,
        created_at       INTEGER NOT NULL, -- epoch ms
        token_rotated_at INTEGER          -- epoch ms; null until the first rotation
      ) STRICT;
    `,
  },
];
